#!/bin/bash
# Session 23 call 5 (device): items of H kv heads at hd64 (bench/NOTES-decode.md): .ab23c m64 / m64b (default hd64 build
# twice), h4s64 / h8s64 (item_heads 4 / 8 at hd64, 4 stages); harness from .snap23e.
#   carry [".kit", ".snap23e", ".ab23c"]; source .kit/unpack.sh .kit >/dev/null && bash .snap23e/bench/results/2026-11-24_s23/call5.sh
set -u
R=$PWD; SNAP=.snap23e; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 200 python3 bench/decode_multi_build.py --head-dim 64 --builds m64=$R/.ab23c m64b=$R/.ab23c \
    --plan-builds h4s64=$R/.ab23c h8s64=$R/.ab23c --plans H4=h4s64:HEADS=4 H8=h8s64:HEADS=8 \
    --cases "64 x 4k" "128 x 1k" --pages 16 1 --flush read zero --rounds 6 --budget-s 150 \
    --json "$OUT/r/ab64.json" > "$OUT/r/ab64.log" 2>&1
log "ab64 rc=$? $(el)"; grep -vE "^\{\"round" "$OUT/r/ab64.log" | grep -v cudnn | tail -16 | tee -a "$OUT/main.log"
grep cudnn "$OUT/r/ab64.log" | grep -v round | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
