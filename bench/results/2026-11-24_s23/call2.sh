#!/bin/bash
# Session 23 call 2 (device): items of H kv heads (CUTE_ATTN_DECODE_ITEM_HEADS) against main on 64 x 4k and 128 x 1k
# (bench/NOTES-decode.md "Session 23"). .ab23: main / main2 (the tree's default 4-stage build twice), h4 / h8 (the
# switch at 4 / 8, 3 stages); the harness from .snap23b (this tree).
#   carry [".kit", ".snap23b", ".ab23"]; source .kit/unpack.sh .kit >/dev/null && bash .snap23b/bench/results/2026-11-24_s23/call2.sh
set -u
R=$PWD; SNAP=.snap23b; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 200 python3 bench/decode_multi_build.py --builds main=$R/.ab23 main2=$R/.ab23 --plan-builds h4=$R/.ab23 h8=$R/.ab23 \
    --plans H4=h4:HEADS=4 H8=h8:HEADS=8 --cases "64 x 4k" "128 x 1k" --pages 16 1 --flush read zero --rounds 6 \
    --budget-s 150 --json "$OUT/r/ab.json" > "$OUT/r/ab.log" 2>&1
log "ab rc=$? $(el)"; grep -vE "^\{\"round" "$OUT/r/ab.log" | grep -v cudnn | tail -24 | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
