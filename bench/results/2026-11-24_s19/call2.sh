#!/bin/bash
# Session 19 call 2 (device): bench/decode_trace.py on the trace build (.ab19t: CUTE_ATTN_DECODE_TRACE=1 decode bf16
# hd128 + the sort kernel, tree = .snap19b), 1 x 32k pages 16 / 1, 8 x 32k page 16, read and zero flush; 64 x 4k and
# 128 x 1k page 16 read flush; the null kernel's event time per flush.
#   carry [".kit", ".snap19b", ".ab19t"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s19/call2.sh
set -u
R=$PWD; SNAP=.snap19b; source bench/call_env.sh
export CUTE_ATTN_ARTIFACTS=$R/.ab19t CUTE_ATTN_CACHE=$(mktemp -d)
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 150 python3 bench/decode_trace.py --cases "1 x 32k" --pages 16 1 --flush read zero --reps 20 \
    --json "$OUT/r/trace1.json" > "$OUT/r/trace1.log" 2>&1
log "trace 1 x 32k rc=$? $(el)"; cat "$OUT/r/trace1.log" | tee -a "$OUT/main.log"
timeout 150 python3 bench/decode_trace.py --cases "8 x 32k" "64 x 4k" "128 x 1k" --pages 16 --flush read --reps 10 \
    --json "$OUT/r/trace2.json" > "$OUT/r/trace2.log" 2>&1
log "trace large rc=$? $(el)"; cat "$OUT/r/trace2.log" | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call2.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
