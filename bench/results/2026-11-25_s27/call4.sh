#!/bin/bash
# Session 27 call 4 (device): the decode GPU tests whose shared setup and three-run check moved into helpers
# (tests/test_gpu_decode.py paged_inputs, three_runs_checked), on .snap27e (kernels as call 3's build).
#   carry [".kit", ".snap27e"]; source .kit/unpack.sh .kit >/dev/null && bash .snap27e/bench/results/2026-11-25_s27/call4.sh
set -u
R=$PWD; SNAP=.snap27e; source bench/call_env.sh
timeout 400 python3 -m pytest -m gpu tests/test_gpu_decode.py -k "mixed_item_heads or several_kv_heads or one_item_variant" \
    -q -rfE --tb=short --timeout=200 -p no:cacheprovider > "$OUT/r/tests.txt" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.txt" | tail -12 | tee -a "$OUT/main.log"
log "total $(el)"
