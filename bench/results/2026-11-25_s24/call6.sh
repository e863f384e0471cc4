#!/bin/bash
# Session 24 call 6 (device): .snap24e (the mixed pass off by default; test expectations fixed): the item-heads GPU tests
# with full reports (call 5's hd64 HND page-1 mixed case failed unread), then every other decode GPU test and the fuzz.
#   carry [".kit", ".snap24e"]; source .kit/unpack.sh .kit >/dev/null && bash .snap24e/bench/results/2026-11-25_s24/call6.sh
set -u
R=$PWD; SNAP=.snap24e; source bench/call_env.sh
timeout 250 python3 -m pytest -m gpu tests/test_gpu_decode.py -k "mixed_item_heads or switches_item_heads" -q -rfE \
    --tb=short --timeout=200 -p no:cacheprovider > "$OUT/r/tests_items.log" 2>&1
log "item tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR|Error|assert" "$OUT/r/tests_items.log" | tail -30 | tee -a "$OUT/main.log"
timeout 300 python3 -m pytest -m gpu tests/test_gpu_decode.py tests/test_gpu_fuzz.py -k "not mixed_item_heads and not switches_item_heads" \
    -q -rfE --tb=short --timeout=200 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
log "total $(el)"
