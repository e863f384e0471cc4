#!/bin/bash
# Session 12 call 7: page 16 (8 boxes per block and tensor) issued by 2 producer warps instead of 4
# (CUTE_ATTN_PAGED_BOX4_WARPS=2; the trace of call 6 showed the 4 box warps ~2,200 cycles apart), three processes.
# Carry [".kit", ".snap", ".ab-s12"].
set -u
R=$PWD
cp bench/prefill_paged_ab.py .snap/bench/prefill_paged_ab.py
cd .snap && export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader 2>&1 | tee $OUT/env.txt
A=$R/.ab-s12
for p in 1 2 3; do
  timeout 150 python3 -m bench.prefill_paged_ab --variant base=$A/base --variant w2=$A/b16w2 \
      --pages 16 --rounds 9 --json $OUT/w2_p$p.json > $OUT/w2_p$p.log 2>&1
  echo "process $p rc=$?"
  grep -vE '^\{' $OUT/w2_p$p.log | grep -E "page|dense" | tail -14
done
