# Session 7 decode-loc, part 2: CUTE_ATTN_DECODE_NEXT_ITEM=1 (next item's row + first page ids / Q prefetched during
# the current item; kernels/decode_sm90.py). Called by next_call.sh ab|all from the snapshot root; expects $OUT.
# Builds in the snapshot (CPU box; bench/results/2026-11-23_s7-decode-loc/build_snapshot.sh does all of them):
#   build/artifacts/sm_90a   default (switch off; PTX identical to main's)
#   build/next/sm_90a        CUTE_ATTN_DECODE_NEXT_ITEM=1, 6 variants (the GPU tests run on it)
#   build/ab                 tagged bf16 hd128 builds main (off) and next (on) for bench/decode_multi_build.py
# 1. decode GPU tests on the NEXT_ITEM build (46 tests, ~40-50 s): empty requests between items, splits, long and
#    skewed batches, every head dim: the transitions the switch changes; outputs vs the float64 reference.
# 2. one-process A/B main vs next (outputs checked bit for bit against main's first), 5 cases x pages 16 / 1, zero
#    flush, rounds alternating the order until 50 s (~6 rounds). Expected ~100 s for both steps.
set -u
S=$PWD
TO=$(python3 -c "import pytest_timeout" 2>/dev/null && echo --timeout=60)
T0=$(date +%s)
CUTE_ATTN_ARTIFACTS=$S/build/next/sm_90a timeout 100 python3 -m pytest -m gpu tests/test_gpu_decode.py -q -rs $TO \
    -p no:cacheprovider > $OUT/gpu_tests_next.log 2>&1
echo "gpu tests (NEXT_ITEM=1 build) rc=$? $(( $(date +%s) - T0 )) s: $(tail -1 $OUT/gpu_tests_next.log)"
grep -E "^(FAILED|ERROR)" $OUT/gpu_tests_next.log | head
(cd /tmp && CUTE_ATTN_ARTIFACTS=$S/build/artifacts/sm_90a timeout 100 python3 "$S/bench/decode_multi_build.py" \
    --builds main=$S/build/ab next=$S/build/ab \
    --cases "64 x 4k" "128 x 1k" "16 x 16k" "1 x 32k" "skewed 1 x 32k + 63 x 512" --pages 16 1 --flush zero \
    --rounds 8 --rep-ms 60 --budget-s 50 --json $OUT/ab.json > $OUT/ab.log 2>&1)
echo "ab rc=$? $(( $(date +%s) - T0 )) s"
grep '"check"' $OUT/ab.log
grep -v '^{' $OUT/ab.log | tail -20
