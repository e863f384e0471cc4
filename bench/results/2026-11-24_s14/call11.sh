#!/bin/bash
# Session 14 call 11 (device): bench/decode_wide_grid.py (default plan vs one sequence per CTA on a 512 / 1024-CTA grid,
# 3-stage and 4-stage kernels; cuDNN in the same process), 64 x 4k and 128 x 1k, pages 16 / 1, zero and read flush.
#   carry [".kit", ".snap14i"]; source .kit/unpack.sh .kit >/dev/null && bash .snap14i/bench/results/2026-11-24_s14/call11.sh
set -u
cd .snap14i
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}
nvidia-smi --query-gpu=name,driver_version --format=csv | tee "$OUT/main.log"
timeout 300 python3 -m bench.decode_wide_grid --rounds 6 --json "$OUT/wide.json" > "$OUT/wide.log" 2>&1
echo "rc=$?" | tee -a "$OUT/main.log"; grep -vE '^\{"round"' "$OUT/wide.log" | tee -a "$OUT/main.log"
