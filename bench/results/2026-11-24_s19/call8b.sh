#!/bin/bash
# Session 19 call 8b (device): bench/decode_trace.py on the trace build of w16 (f1cbeb1: one round of 16 parts; .ab19t4),
# 1 x 32k pages 16 / 1, read and zero flush.
#   carry [".kit", ".snap19w", ".ab19t4"]; source .kit/unpack.sh .kit >/dev/null && bash .snap19w/bench/results/2026-11-24_s19/call8b.sh (the snapshot of f1cbeb1: the artifacts key on its sources)
set -u
R=$PWD; SNAP=.snap19w; source bench/call_env.sh
export CUTE_ATTN_ARTIFACTS=$R/.ab19t4 CUTE_ATTN_CACHE=$(mktemp -d)
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 150 python3 bench/decode_trace.py --cases "1 x 32k" --pages 16 1 --flush read zero --reps 30 \
    --json "$OUT/r/trace.json" > "$OUT/r/trace.log" 2>&1
log "trace rc=$? $(el)"; cat "$OUT/r/trace.log" | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call8b.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
