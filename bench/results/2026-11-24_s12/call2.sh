#!/bin/bash
# Session 12 call 2: does the paged kernel's register split (40 / 232; dense 24 / 240) cost the dense kernel what
# page 64 loses? (NOTES-prefill-paged 19.6's remaining suspect, never built.) Dense r40 = CUTE_ATTN_PREFILL_REGS=40/232.
# Carry [".kit", ".snap", ".ab-s12"].
set -u
R=$PWD
cp bench/prefill_paged_ab.py .snap/bench/prefill_paged_ab.py
cd .snap && export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader 2>&1 | tee $OUT/env.txt
A=$R/.ab-s12
for p in 1 2 3; do
  timeout 150 python3 -m bench.prefill_paged_ab --variant base=$A/base --dense-variant r40=$A/r40 \
      --pages 1,16,64 --rounds 9 --json $OUT/r40_p$p.json > $OUT/r40_p$p.log 2>&1
  echo "process $p rc=$?"
  grep -vE '^\{' $OUT/r40_p$p.log | grep -E "dense|x dense_r40" | tail -14
done
