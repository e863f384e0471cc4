#!/bin/bash
# Session 14 call 7 (device): decode at 2, 3, 4 (main) and 5 KV stages in one process (decode_multi_build, 10 rounds),
# zero and read flush, cuDNN per round pair; no tests (call 6 ran them on the 3-stage build).
#   carry [".kit", ".snap14f", ".ab14d"]; source .kit/unpack.sh .kit >/dev/null && bash .snap14f/bench/results/2026-11-24_s14/call7.sh
set -u
AB=$PWD/.ab14d
cd .snap14f
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$AB/s3-full CUTE_ATTN_CACHE=$(mktemp -d)
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
timeout 420 python3 bench/decode_multi_build.py --builds main=$AB/main s3=$AB/s3 s2=$AB/s2 s5=$AB/s5 \
    --cases "1 x 32k" "16 x 16k" "8 x 32k" "64 x 4k" "128 x 1k" --pages 16 1 --flush zero read --rounds 10 --rep-ms 60 \
    --budget-s 330 --json "$OUT/r/ab.json" > "$OUT/r/ab.log" 2>&1
log "ab rc=$? $(el)"; grep -vE "^\{" "$OUT/r/ab.log" | tail -40 | tee -a "$OUT/main.log"
tar -cJf "$OUT/call7.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
