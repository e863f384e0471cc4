#!/bin/bash
# Session 23 call 3 (device): the tree with items of H kv heads as the default plan mode (spec field item_heads, both
# planners' rule, 6 new hd128 variants): every GPU test (the new test_items_of_several_kv_heads among them);
# bench.decode read flush (issue 6 table, default plans) and zero flush (no extras).
#   carry [".kit", ".snap23c"]; source .kit/unpack.sh .kit >/dev/null && bash .snap23c/bench/results/2026-11-24_s23/call3.sh
set -u
R=$PWD; SNAP=.snap23c; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 420 python3 -m pytest -m gpu tests -q -rs --timeout=200 -p no:cacheprovider --durations=5 > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
timeout 75 python3 -m bench.decode --no-extras --flush read --json "$OUT/r/decode_read.json" > "$OUT/r/decode_read.log" 2>&1
log "decode read rc=$? $(el)"; grep -E "^\|" "$OUT/r/decode_read.log" | tee -a "$OUT/main.log"
timeout 75 python3 -m bench.decode --no-extras --flush zero --json "$OUT/r/decode_zero.json" > "$OUT/r/decode_zero.log" 2>&1
log "decode zero rc=$? $(el)"; grep -E "^\|" "$OUT/r/decode_zero.log" | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
