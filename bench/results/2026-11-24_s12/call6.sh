#!/bin/bash
# Session 12 call 6: per-block trace (CUTE_ATTN_PREFILL_TRACE=1 build, .ab-s12/trace) of dense vs pages 1 / 16 / 64,
# 4 x 4k hd128 causal: where page 16 / 64's longer block step sits (uniform, or a few long steps), raw areas kept.
# Carry [".kit", ".snap5", ".ab-s12"].
set -u
R=$PWD
cd .snap5 && export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
cp $R/bench/prefill_paged_trace.py bench/prefill_paged_trace.py
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader 2>&1 | tee $OUT/env.txt
timeout 200 python3 -m bench.prefill_paged_trace --trace-dir $R/.ab-s12/trace --pages 1 16 64 --reps 5 \
    --json $OUT/trace.json --raw $OUT/raw.npz > $OUT/trace.log 2>&1
echo "trace rc=$?"; tail -40 $OUT/trace.log
