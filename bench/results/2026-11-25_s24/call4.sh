#!/bin/bash
# Session 24 call 4 (device): graph mode's CTAs without items placed where a grid of the plan's own CTA count leaves SMs
# idle (g_cal, from call 3's placement of this device) or at the odd blockIdx from the top (g_odd), against eager,
# g_launch (empties at the end), g_launch_own (grid = the plan's CTAs), eager_dyn; bench/decode_graph_ab.py, read flush.
#   carry [".kit", ".snap24c"]; source .kit/unpack.sh .kit >/dev/null && bash .snap24c/bench/results/2026-11-25_s24/call4.sh
set -u
R=$PWD; SNAP=.snap24c; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 300 python3 -m bench.decode_graph_ab --rounds 4 --flush read --placement bench/results/2026-11-25_s24/call3/placement.json \
    --labels eager g_launch g_launch_own g_cal g_odd eager_dyn --cases "64 x 4k" "16 x 16k" "128 x 1k" "8 x 32k" "1 x 32k" \
    --json "$OUT/r/gab.json" > "$OUT/r/gab.log" 2>&1
log "graph ab rc=$? $(el)"; cat "$OUT/r/gab.log" | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
