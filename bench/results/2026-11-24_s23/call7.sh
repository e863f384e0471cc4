#!/bin/bash
# Session 23 call 7 (device): DYN_HEADS A/B (bench/NOTES-decode.md): .ab23d main / m3 / h4 / h8 (static) and dyn4 / dyn3
# (CUTE_ATTN_DECODE_DYN_HEADS=1); harness from .snap23g.
#   carry [".kit", ".snap23g", ".ab23d"]; source .kit/unpack.sh .kit >/dev/null && bash .snap23g/bench/results/2026-11-24_s23/call7.sh
set -u
R=$PWD; SNAP=.snap23g; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 280 python3 bench/decode_multi_build.py --builds main=$R/.ab23d dyn4=$R/.ab23d m3=$R/.ab23d dyn3=$R/.ab23d \
    --plan-builds h4=$R/.ab23d h8=$R/.ab23d --plans S4=h4:HEADS=4 D4=dyn3:HEADS=4 S8=h8:HEADS=8 D8=dyn3:HEADS=8 \
    G4=dyn4:HEADS=4 G8=dyn4:HEADS=8 --cases "64 x 4k" "128 x 1k" "16 x 16k" "1 x 32k" --pages 16 1 --flush read \
    --rounds 5 --budget-s 220 --json "$OUT/r/ab.json" > "$OUT/r/ab.log" 2>&1
log "ab rc=$? $(el)"; grep -vE "^\{\"round" "$OUT/r/ab.log" | grep -v cudnn | grep -v '"plan"' | tail -20 | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
