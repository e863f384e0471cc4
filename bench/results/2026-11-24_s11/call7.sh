#!/bin/bash
# Session 11 call 7 (device): page 1 with one empty-barrier arrival per consumer warp (CUTE_ATTN_PAGED_GATHER_ELECT=1;
# NOTES-prefill-paged 21.3): the paged GPU tests against .snap's artifacts with the 12 gather variants replaced by the
# switched builds, then the A/B (page 1, hd128 causal) x 3 processes.
#   carry [".kit", ".snap", ".ab-s11"]; source .kit/unpack.sh .kit >/dev/null && S=.snap bash bench/results/2026-11-24_s11/call7.sh
set -u
R=$PWD
cd "${S:-.snap}"
export PYTHONPATH=$PWD:$PYTHONPATH PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
mkdir -p /tmp/jit-empty
CUTE_ATTN_ARTIFACTS=$R/.ab-s11/elect-art CUTE_ATTN_CACHE=/tmp/jit-empty timeout 200 python3 -m pytest -m gpu \
    tests/test_gpu_prefill_paged.py -q -rs -p no:cacheprovider > $OUT/tests_elect.log 2>&1
echo "paged GPU tests (elect gathers) rc=$?: $(tail -1 $OUT/tests_elect.log)"
grep -E "^(FAILED|ERROR)" $OUT/tests_elect.log | head
export CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
for p in 1 2 3; do
  timeout 120 python3 -m bench.prefill_paged_ab --variant base=$R/.ab-s11/pg --variant elect=$R/.ab-s11/pe1 \
      --pages 1 --rounds 9 --json $OUT/elect_p$p.json > $OUT/elect_p$p.log 2>&1
  echo "process $p rc=$?"
  grep -E 'page|dense' $OUT/elect_p$p.log | grep -v '^{' | tail -6
done
