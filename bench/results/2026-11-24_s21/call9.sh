#!/bin/bash
# Session 21 call 9 (device): after the review's refactors (the sort's shared exchange / group network, SASS identical;
# the GPU sort test's reference from bench.decode_sort_cost): the decode GPU tests on .snap21i.
#   carry [".kit", ".snap21i"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s21/call9.sh
set -u
R=$PWD; SNAP=.snap21i; source bench/call_env.sh
timeout 150 python3 -m pytest -m gpu tests/test_gpu_decode.py -q -p no:cacheprovider > "$OUT/r/decode_tests.log" 2>&1
log "decode tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR|^E " "$OUT/r/decode_tests.log" | tail -8 | tee -a "$OUT/main.log"
tar -cJf "$OUT/call9.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
