#!/bin/bash
# Session 14 call 12 (device): decode_multi_build main (4 x 64 rows) / s3 (3 x 64) / t48 (4 x 48) / t32s6 (6 x 32),
# the five bench cases, pages 16 / 1, zero and read flush, 6 rounds.
#   carry [".kit", ".snap14j", ".ab14c"]; source .kit/unpack.sh .kit >/dev/null && bash .snap14j/bench/results/2026-11-24_s14/call12.sh
set -u
AB=$PWD/.ab14c
cd .snap14j
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
nvidia-smi --query-gpu=name,driver_version --format=csv | tee "$OUT/main.log"
timeout 400 python3 bench/decode_multi_build.py --builds main=$AB/main s3=$AB/s3 t48=$AB/t48 t32s6=$AB/t32s6 \
    --cases "1 x 32k" "16 x 16k" "8 x 32k" "64 x 4k" "128 x 1k" --pages 16 1 --flush zero read --rounds 6 --rep-ms 60 \
    --budget-s 300 --json "$OUT/r/ab.json" > "$OUT/r/ab.log" 2>&1
echo "ab rc=$?" | tee -a "$OUT/main.log"; grep -E '"check"' "$OUT/r/ab.log" | tee -a "$OUT/main.log"; grep -vE "^\{" "$OUT/r/ab.log" | tail -30 | tee -a "$OUT/main.log"
tar -cJf "$OUT/call12.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
