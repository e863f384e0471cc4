#!/bin/bash
# Session 26 call 4 (device): per-CTA trace stamps of 1 x 32k and 8 x 32k (TRACE build of the final tree, .snap26t;
# NOTES-decode "Session 26 call 4"), raw stamps saved for the CPU.
#   carry [".kit", ".snap26t"]; source .kit/unpack.sh .kit >/dev/null && bash .snap26t/bench/results/2026-11-25_s26/call4.sh
set -u
R=$PWD; SNAP=.snap26t; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 200 python3 bench/decode_trace.py --cases "1 x 32k" "8 x 32k" --pages 16 1 --flush read --reps 30 \
    --json "$OUT/r/trace.json" --raw "$OUT/r/raw.npz" > "$OUT/r/trace.txt" 2>&1
log "trace rc=$? $(el)"; tail -3 "$OUT/r/trace.txt" | cut -c1-300 | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
