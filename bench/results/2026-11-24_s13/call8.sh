#!/bin/bash
# Session 13 call 8 (device): bench/decode_trace.py on the trace build (.ab13/trace: CUTE_ATTN_DECODE_TRACE=1 decode
# bf16 hd128 + the sort kernel), 1 x 32k, 64 x 4k, 128 x 1k, pages 16 and 1, read and zero flush.
#   carry [".kit", ".snap8", ".ab13"]; source .kit/unpack.sh .kit >/dev/null && S=.snap8 bash .snap8/bench/results/2026-11-24_s13/call8.sh
set -u
AB=$PWD/.ab13
cd "${S:-.snap8}"
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$AB/trace CUTE_ATTN_CACHE=$(mktemp -d)
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
timeout 240 python3 bench/decode_trace.py --cases "1 x 32k" "64 x 4k" "128 x 1k" --pages 16 1 --flush read zero \
    --reps 20 --json "$OUT/r/trace.json" > "$OUT/r/trace.log" 2>&1
log "trace rc=$? $(el)"; tail -60 "$OUT/r/trace.log" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call8.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
