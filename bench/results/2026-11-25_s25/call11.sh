#!/bin/bash
# Session 25 call 11 (device): hd256's plans at 3 vs 4 stages (tagged builds .ab25w; NOTES-decode "Session 25").
#   carry [".kit", ".snap25h", ".ab25w"]; source .kit/unpack.sh .kit >/dev/null && bash .snap25h/bench/results/2026-11-25_s25/call11.sh
set -u
R=$PWD; SNAP=.snap25h; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 240 python3 bench/decode_multi_build.py --head-dim 256 --builds w4=$R/.ab25w w3=$R/.ab25w \
    --cases "16 x 16k" "1 x 32k" "8 x 32k" "64 x 4k" "128 x 1k" --pages 16 1 --flush read --rounds 6 \
    --json "$OUT/r/hd256.json" > "$OUT/r/hd256.txt" 2>&1
log "hd256 rc=$? $(el)"; grep -vE '^\{' "$OUT/r/hd256.txt" | tail -20 | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
