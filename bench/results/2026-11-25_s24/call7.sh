#!/bin/bash
# Session 24 call 7 (device): the final tree (.snap24f): the item-heads decode GPU tests (the mixed-pass pair tolerance now
# 4e-3; call 6 ran every other decode GPU test and the fuzz on the same kernels and planners: 122 passed).
#   carry [".kit", ".snap24f"]; source .kit/unpack.sh .kit >/dev/null && bash .snap24f/bench/results/2026-11-25_s24/call7.sh
set -u
R=$PWD; SNAP=.snap24f; source bench/call_env.sh
timeout 250 python3 -m pytest -m gpu tests/test_gpu_decode.py -k "mixed_item_heads or switches_item_heads or several_kv_heads" \
    -q -rfE --tb=short --timeout=200 -p no:cacheprovider > "$OUT/r/tests_items.log" 2>&1
log "item tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR|Error|assert" "$OUT/r/tests_items.log" | tail -30 | tee -a "$OUT/main.log"
log "total $(el)"
