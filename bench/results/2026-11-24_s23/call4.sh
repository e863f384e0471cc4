#!/bin/bash
# Session 23 call 4 (device): FIRST_TILES A/B (bench/NOTES-decode.md "Session 23"): .ab23b m3 / m3b (the tree's 3-stage
# variant twice), ft2 / ft3 (CUTE_ATTN_DECODE_FIRST_TILES=2 / 3); the harness process with FIRST_TILES=3 so that the plan's
# counters buffer has room for 3 regions (the T=1 builds use the first).
#   carry [".kit", ".snap23d", ".ab23b"]; source .kit/unpack.sh .kit >/dev/null && bash .snap23d/bench/results/2026-11-24_s23/call4.sh
set -u
R=$PWD; SNAP=.snap23d; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
CUTE_ATTN_DECODE_FIRST_TILES=3 timeout 240 python3 bench/decode_multi_build.py --builds m3=$R/.ab23b m3b=$R/.ab23b \
    ft2=$R/.ab23b ft3=$R/.ab23b --cases "1 x 32k" "16 x 16k" "8 x 32k" --pages 16 1 --flush read zero --rounds 8 \
    --budget-s 180 --json "$OUT/r/ab.json" > "$OUT/r/ab.log" 2>&1
log "ab rc=$? $(el)"; grep -vE "^\{\"round" "$OUT/r/ab.log" | grep -v cudnn | tail -16 | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
