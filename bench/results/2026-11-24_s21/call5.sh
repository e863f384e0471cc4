#!/bin/bash
# Session 21 call 5 (device): the sort kernel's GPU test over every network size (16 .. 16384 keys: each first-phase
# variant) and the decode GPU tests, on the final tree (.snap21e; kernels as call 4's).
#   carry [".kit", ".snap21e"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s21/call5.sh
set -u
R=$PWD; SNAP=.snap21e; source bench/call_env.sh
timeout 150 python3 -m pytest -m gpu tests/test_gpu_decode.py -q -p no:cacheprovider > "$OUT/r/decode_tests.log" 2>&1
log "decode tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR|^E " "$OUT/r/decode_tests.log" | tail -8 | tee -a "$OUT/main.log"
tar -cJf "$OUT/call5.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
