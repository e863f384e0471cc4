#!/bin/bash
# Session 19 call 9 (device): the refactored bench/decode_trace.py (one flush-and-events loop) on the final tree's trace build (.ab19t5),
# 1 x 32k pages 16 / 1, read and zero flush.
#   carry [".kit", ".snap19i", ".ab19t5"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s19/call9.sh
set -u
R=$PWD; SNAP=.snap19i; source bench/call_env.sh
export CUTE_ATTN_ARTIFACTS=$R/.ab19t5 CUTE_ATTN_CACHE=$(mktemp -d)
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 150 python3 bench/decode_trace.py --cases "1 x 32k" --pages 16 1 --flush read zero --reps 20 \
    --json "$OUT/r/trace.json" > "$OUT/r/trace.log" 2>&1
log "trace rc=$? $(el)"; cat "$OUT/r/trace.log" | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call9.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
