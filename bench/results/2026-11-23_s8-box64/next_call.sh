#!/bin/bash
# Session 8 s8-box64: ONE device call (H100; ~100-130 s of device time, at most ~150 s by the guards: give it timeout
# 200). Needs the snapshot that build_snapshot.sh makes on the CPU host (carry [".kit", ".snap-s8-box64"]), run from the
# device copy's root:
#   source .kit/unpack.sh .kit >/dev/null && bash .snap-s8-box64/bench/results/2026-11-23_s8-box64/next_call.sh
# The question (bench/NOTES-prefill-paged.md 19): is the paged page-64 kernel's 5.5 % longer consumer step the shape
# of its K/V TMA loads (2 boxes of 64 rows per block instead of 1 of 128)? The dense kernel with the same split on
# contiguous data (CUTE_ATTN_PREFILL_KV_BOX_ROWS=64; =16: the page-16 shape, all boxes from warp 0).
# Order: (1) the dense GPU tests of the hd128 variants (41 tests: bf16 + fp16, causal + full, GQA 4097, ragged, LSE
# merge) against build/box64, then build/box16 (timeout 90 each; each with an empty JIT cache of its own, which must
# stay empty: a kernel missing from the build would be compiled there, unswitched), (2) in-process A/B
# (bench.prefill_dense_ab, interleaved rounds, no cuDNN) base (switch unset = main's PTX) / box64 / box16 over hd128
# causal 4 x 4k, 16 x 1k, 1 x 16k, 8 rounds, 2-3 processes with the rounds timing (the guards below). The A/B runs
# only if both test runs passed (a failing build is not timed).
# Writes $OUT/main.log (summary, printed at the end) and $OUT/box.tar.xz (every log and JSON): 2 files.
set -u
S=${S:-$PWD/.snap-s8-box64}
OUT=${OUT:-/tmp/box_out}
W=/tmp/box
rm -rf $W && mkdir -p "$OUT" $W
cd "$S" || exit 1
export PYTHONPATH=$S${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
unset CUTE_ATTN_PREFILL_KV_BOX_ROWS CUTE_ATTN_PREFILL_CLUSTER CUTE_ATTN_PREFILL_CLUSTER_CTAS CUTE_ATTN_PREFILL_CTAS \
    CUTE_ATTN_PREFILL_SCHEDULE CUTE_ATTN_PREFILL_TRACE
L=$OUT/main.log
T0=$(date +%s)
el() { echo $(( $(date +%s) - T0 )); }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv > "$L" 2>&1
ls build/box64 build/box16 ab/base >> "$L" 2>&1

# (1) GPU tests of the dense hd128 variants, each switched build (~15-25 s each)
SEL="not 64-64 and not 256-256 and not 192-128 and not both_tiles and not other_head_dims"
ok=1
for R in 64 16; do
  t0=$(date +%s)
  mkdir -p $W/jit$R
  CUTE_ATTN_ARTIFACTS=$S/build/box$R CUTE_ATTN_CACHE=$W/jit$R timeout 90 python3 -m pytest -m gpu \
      tests/test_gpu_prefill.py -q -rs -p no:cacheprovider -k "$SEL" > $W/gpu_tests_box$R.log 2>&1
  rc=$?
  jit=$(find $W/jit$R -name '*.so' | wc -l)
  echo "tests (box$R) rc=$rc $(( $(date +%s) - t0 ))s, JIT-compiled kernels: $jit" >> "$L"
  tail -3 $W/gpu_tests_box$R.log >> "$L"
  grep -E "^(FAILED|ERROR)" $W/gpu_tests_box$R.log | head -20 >> "$L"
  { [ $rc = 0 ] && [ "$jit" = 0 ]; } || ok=0
done
if [ $ok != 1 ]; then
  echo "a test run failed (or compiled a kernel): no A/B" >> "$L"
  (cd $W && tar -cJf /tmp/box.tar.xz .) && mv /tmp/box.tar.xz "$OUT"/
  cat "$L"; exit 0
fi

# (2) A/B, ~25-35 s per process; processes 1-2 start before 100 s, a third only before 95 s; each gets at most
# 145 s - elapsed (and 50 s)
for r in 1 2 3; do
  t=$(( 145 - $(el) )); [ $t -gt 50 ] && t=50
  lim=100; [ $r = 3 ] && lim=95
  if [ "$(el)" -gt $lim ]; then echo "ab $r skipped at $(el)s" >> "$L"; continue; fi
  t0=$(date +%s)
  timeout $t python3 -m bench.prefill_dense_ab --variant base=$S/ab/base --variant box64=$S/build/box64 \
      --variant box16=$S/build/box16 --rounds 8 --timing rounds --no-cudnn --json $W/ab_$r.json \
      --cases 4x4096:128:causal,16x1024:128:causal,1x16384:128:causal > $W/ab_$r.log 2>&1
  echo "ab $r rc=$? $(( $(date +%s) - t0 ))s" >> "$L"
  tail -4 $W/ab_$r.log | grep -v "^|" >> "$L"
done

python3 bench/results/2026-11-23_s8-box64/summary.py $W/ab_*.json >> "$L" 2>&1
echo "total $(el)s" >> "$L"
(cd $W && tar -cJf /tmp/box.tar.xz .) && mv /tmp/box.tar.xz "$OUT"/
cat "$L"
