#!/bin/bash
# Session 25 call 10 (device): test_items_of_several_kv_heads again with its expectation of hd64's stage count fixed
# (call 9's 12 hd64 failures were that assertion, before any kernel ran); the same kernels as call 9 (.snap25h).
#   carry [".kit", ".snap25h"]; source .kit/unpack.sh .kit >/dev/null && bash .snap25h/bench/results/2026-11-25_s25/call10.sh
set -u
R=$PWD; SNAP=.snap25h; source bench/call_env.sh
timeout 200 python3 -m pytest -m gpu tests/test_gpu_decode.py -k "several_kv_heads" \
    -q -rfE --tb=short --timeout=200 -p no:cacheprovider > "$OUT/r/tests.txt" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.txt" | tail -12 | tee -a "$OUT/main.log"
