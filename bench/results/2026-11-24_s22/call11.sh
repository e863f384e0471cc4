#!/bin/bash
# Session 22 call 11 (device): CUTE_ATTN_DECODE_EARLY_Q at hd64: decode_multi_build m64 / eq64 / m64b (.ab22q64), 8 rounds.
#   carry [".kit", ".snap22k", ".ab22q64"]; source .kit/unpack.sh .kit >/dev/null && bash .snap22k/bench/results/2026-11-24_s22/call11.sh
set -u
R=$PWD; SNAP=.snap22k; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 200 python3 bench/decode_multi_build.py --head-dim 64 --builds m64=$R/.ab22q64 eq64=$R/.ab22q64 m64b=$R/.ab22q64 \
    --cases "128 x 1k" "64 x 4k" "16 x 16k" --pages 16 1 --flush read zero --rounds 8 --budget-s 120 \
    --json "$OUT/r/ab64.json" > "$OUT/r/ab64.log" 2>&1
log "ab64 rc=$? $(el)"; grep -vE "^\{\"round" "$OUT/r/ab64.log" | grep -v check | grep -v cudnn | tail -14 | tee -a "$OUT/main.log"
grep check "$OUT/r/ab64.log" | grep -v "true, 0.0\], \"eq64\": \[0.0, 0.0, true, 0.0\], \"m64b\": \[0.0, 0.0, true, 0.0\]" | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
