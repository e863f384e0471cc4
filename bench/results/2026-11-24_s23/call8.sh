#!/bin/bash
# Session 23 call 8 (device): the final tree (.snap23h; decode kernels' PTX identical to call 6's, compared; the planners
# also write Item.HEADS_LOG2): every GPU test; bench.decode read flush (no extras).
#   carry [".kit", ".snap23h"]; source .kit/unpack.sh .kit >/dev/null && bash .snap23h/bench/results/2026-11-24_s23/call8.sh
set -u
R=$PWD; SNAP=.snap23h; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 330 python3 -m pytest -m gpu tests -q -rs --timeout=200 -p no:cacheprovider --durations=5 > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
timeout 75 python3 -m bench.decode --no-extras --flush read --json "$OUT/r/decode_read.json" > "$OUT/r/decode_read.log" 2>&1
log "decode read rc=$? $(el)"; grep -E "^\|" "$OUT/r/decode_read.log" | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
