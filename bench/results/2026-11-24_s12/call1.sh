#!/bin/bash
# Session 12 call 1: is page 1's gap the gathers' LSU traffic against the wgmma operand reads? Q in registers
# (q_rs: the S GEMMs read only K from shared memory, ~20 % fewer HGMMA shared-memory wavefronts) needs one P buffer
# at hd128, so three builds: base (double P), sp (one P), qrs (one P + Q in registers), paged and dense each.
# Carry [".kit", ".snap", ".ab-s12"]; .snap = HEAD's snapshot with its build (the checkout's dense kernel).
set -u
R=$PWD
cp bench/prefill_paged_ab.py .snap/bench/prefill_paged_ab.py
cd .snap && export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader 2>&1 | tee $OUT/env.txt
A=$R/.ab-s12
for p in 1 2 3; do
  if [ $p = 2 ]; then V="--variant qrs=$A/qrs --variant sp=$A/sp --variant base=$A/base"
  else V="--variant base=$A/base --variant sp=$A/sp --variant qrs=$A/qrs"; fi
  timeout 170 python3 -m bench.prefill_paged_ab $V --dense-variant sp=$A/sp --dense-variant qrs=$A/qrs \
      --pages 1,16,64 --rounds 7 --json $OUT/qrs_p$p.json > $OUT/qrs_p$p.log 2>&1
  echo "process $p rc=$?"
  grep -vE '^\{' $OUT/qrs_p$p.log | tail -30
done
