#!/bin/bash
# Session 12 call 3: the paged kernel at the dense register split (CUTE_ATTN_PAGED_REGS=24/240; ptxas spills: gathers 32 / 40 B,
# box 16 12 / 12 B, box 64 152 / 160 B) vs base (40 / 232), after call 2 found the dense kernel 1-4 % slower at 40 / 232.
# Carry [".kit", ".snap", ".ab-s12"].
set -u
R=$PWD
cp bench/prefill_paged_ab.py .snap/bench/prefill_paged_ab.py
cd .snap && export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader 2>&1 | tee $OUT/env.txt
A=$R/.ab-s12
for p in 1 2 3; do
  timeout 150 python3 -m bench.prefill_paged_ab --variant base=$A/base --variant p24=$A/p24 \
      --pages 1,16,64 --rounds 9 --json $OUT/p24_p$p.json > $OUT/p24_p$p.log 2>&1
  echo "process $p rc=$?"
  grep -vE '^\{' $OUT/p24_p$p.log | grep -E "page|dense" | tail -14
done
