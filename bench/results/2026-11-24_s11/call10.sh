#!/bin/bash
# Session 11 call 10 (device): the TMA-box path at 56 / 224 registers (CUTE_ATTN_PAGED_BOX_REGS; box 64's producer
# spills gone) x the final kernels, pages 16 and 64, three processes x 9 rounds.
#   carry [".kit", ".snap", ".ab-s11"]; source .kit/unpack.sh .kit >/dev/null && S=.snap bash bench/results/2026-11-24_s11/call10.sh
set -u
R=$PWD
cd "${S:-.snap}"
export PYTHONPATH=$PWD:$PYTHONPATH PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}
for p in 1 2 3; do
  timeout 120 python3 -m bench.prefill_paged_ab --variant base=$CUTE_ATTN_ARTIFACTS --variant r56=$R/.ab-s11/br56 \
      --pages 16,64 --rounds 9 --json $OUT/br_p$p.json > /tmp/br_$p.log 2>&1
  echo "process $p rc=$?"
  grep -E 'page +[0-9]+ base' /tmp/br_$p.log | sed 's/^/   /'
done
