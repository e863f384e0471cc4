#!/bin/bash
# Session 11 call 9 (device): does a page size's ratio to dense depend on which other kernels share the process's rounds?
# bench.prefill_paged_ab with the final kernels (.snap), pages 1,16,64 together vs each page size alone with dense,
# alternating, two of each; 9 rounds.
#   carry [".kit", ".snap"]; source .kit/unpack.sh .kit >/dev/null && S=.snap bash bench/results/2026-11-24_s11/call9.sh
set -u
cd "${S:-.snap}"
export PYTHONPATH=$PWD:$PYTHONPATH PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}
n=0
for rep in 1 2; do
  for pages in 1,16,64 64 16 1; do
    n=$((n+1))
    timeout 100 python3 -m bench.prefill_paged_ab --variant cur=$CUTE_ATTN_ARTIFACTS --pages $pages --rounds 9 \
        --json $OUT/mix_${rep}_${pages//,/-}.json > /tmp/mix_$n.log 2>&1
    echo "rep $rep pages $pages rc=$?"
    grep -E 'page +[0-9]+ cur' /tmp/mix_$n.log | sed 's/^/   /'
  done
done
