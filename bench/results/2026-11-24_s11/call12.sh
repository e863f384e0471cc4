#!/bin/bash
# Session 11 call 12 (device): page 1 with 32-bit gather row offsets (one SHFL per pass; CUTE_ATTN_PAGED_GATHER_OFF32)
# x the final build, three processes x 9 rounds (each output checked bitwise against dense by the bench).
#   carry [".kit", ".snap2", ".ab-s11"]; source .kit/unpack.sh .kit >/dev/null && S=.snap2 bash bench/results/2026-11-24_s11/call12.sh
set -u
R=$PWD
cd "${S:-.snap2}"
export PYTHONPATH=$PWD:$PYTHONPATH PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}
for p in 1 2 3; do
  timeout 120 python3 -m bench.prefill_paged_ab --variant base=$CUTE_ATTN_ARTIFACTS --variant off32=$R/.ab-s11/po32 \
      --pages 1 --rounds 9 --json $OUT/off32_p$p.json > /tmp/o_$p.log 2>&1
  echo "process $p rc=$?"
  grep -E 'page +[0-9]+ base|Error|differs' /tmp/o_$p.log | sed 's/^/   /'
done
