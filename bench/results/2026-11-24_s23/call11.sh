#!/bin/bash
# Session 23 call 11 (device): the review commits (.snap23i = 1070006: kernel helpers with identical PTX, item_heads_of
# from Item.HEADS_LOG2): the decode GPU tests and the decode fuzz.
#   carry [".kit", ".snap23i"]; source .kit/unpack.sh .kit >/dev/null && bash .snap23i/bench/results/2026-11-24_s23/call11.sh
set -u
R=$PWD; SNAP=.snap23i; source bench/call_env.sh
timeout 300 python3 -m pytest -m gpu tests/test_gpu_decode.py tests/test_gpu_fuzz.py -q -rs --timeout=200 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
log "total $(el)"
