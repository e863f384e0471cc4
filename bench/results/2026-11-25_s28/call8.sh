#!/bin/bash
# Session 28 call 8 (device): the tail steal A/B (branch s28-steal; NOTES-decode "Session 28: the tail balanced at run
# time"): tagged bf16 hd128 3-stage builds in .ab28 (m3: this tree's default code; st3: CUTE_ATTN_DECODE_STEAL=1), one
# process, read flush, 10 rounds; the plans with k = 1 / 2 pool tiles per part; checks against m3's outputs.
#   carry [".kit", ".snap28g", ".ab28"]; source .kit/unpack.sh .kit >/dev/null && bash .snap28g/bench/results/2026-11-25_s28/call8.sh
set -u
R=$PWD; SNAP=.snap28g; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
A=$R/.ab28
timeout 300 python3 bench/decode_multi_build.py --builds m3=$A st3=$A --plans s1=st3:STEAL=1 s2=st3:STEAL=2 \
    --cases "1 x 32k" "1 x 30001" "8 x 32k" --pages 16 1 --flush read --rounds 10 --json "$OUT/r/ab.json" > "$OUT/r/ab.txt" 2>&1
log "ab rc=$? $(el)"; grep -E '"check"|"plan"' "$OUT/r/ab.txt" | tee -a "$OUT/main.log"; grep -vE '^\{' "$OUT/r/ab.txt" | tail -24 | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
