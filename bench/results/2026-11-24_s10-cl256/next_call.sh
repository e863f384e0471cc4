#!/bin/bash
# Session 10 s10-cl256 (2-CTA cluster K/V multicast, dense non-causal hd256, switch CUTE_ATTN_PREFILL_CLUSTER=2;
# bench/NOTES-prefill.md 27). ONE device call (H100): ~110-150 s of device time, at most ~250 s by the guards (give it
# timeout 300). Needs a snapshot of a tree with this branch whose
#   build/artifacts/sm_90a  = the normal build (at least prefill_bf16_headdim256_headdimv256_nocausal_sm90a and the
#                             prefill_plan host library): python3 -m cute_attn.build -j 2 --only 'prefill_*'
#   build/cl256             = the cluster build of the hd256 dense non-causal variants:
#       CUTE_ATTN_PREFILL_CLUSTER=2 python3 -m cute_attn.build -j 2 --force \
#           --only 'prefill_*_headdim256_headdimv256_nocausal_sm90a' --out build/cl256
# carry [".kit", ".snap-s10-cl256"]; command:
#   source .kit/unpack.sh .kit >/dev/null && bash .snap-s10-cl256/bench/results/2026-11-24_s10-cl256/next_call.sh
# Order: (1) tests/test_gpu_prefill_cluster.py with the switch on and CUTE_ATTN_ARTIFACTS=build/cl256 (hd256
# non-causal vs a float32 reference on the GPU: q_len 1, 113, 1023, 4097 x GQA 1 / 4, 1 x 16k, a ragged batch with an
# empty request, a no-key request and odd tile counts, fp16, prefill(); NaN-poisoned outputs; the plan must be the pair
# plan from the cluster build); an empty JIT cache that must stay empty; (2) only if it passes: bench.prefill_dense_ab
# base (normal build) vs cl (cluster build, its plan made with the switch), hd256 full 1 x 16k and 4 x 4k, 9 rounds,
# rounds timing, 2 processes; (3) bench.power_probe hd256 full 1 x 16k for the normal build, then for the cluster build
# (CUTE_ATTN_ARTIFACTS=build/cl256 + the switch: the package loads the cluster kernel and plans pair rows).
# Writes $OUT/main.log (summary, printed at the end) and $OUT/cl256.tar.xz (every log and JSON): 2 files.
set -u
S=${S:-$PWD/.snap-s10-cl256}
OUT=${OUT:-/tmp/cl256_out}
W=/tmp/cl256
rm -rf $W && mkdir -p "$OUT" $W/jit
cd "$S" || exit 1
export PYTHONPATH=$S${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
unset CUTE_ATTN_PREFILL_CLUSTER CUTE_ATTN_PREFILL_SPLIT CUTE_ATTN_PREFILL_CTAS CUTE_ATTN_PREFILL_SCHEDULE \
      CUTE_ATTN_PREFILL_SET CUTE_ATTN_ARTIFACTS
ART=$S/build/artifacts/sm_90a
CL=$S/build/cl256
L=$OUT/main.log
T0=$(date +%s)
el() { echo $(( $(date +%s) - T0 )); }
pack() { (cd $W && tar -cJf /tmp/cl256.tar.xz --exclude=jit .) && mv /tmp/cl256.tar.xz "$OUT"/; cat "$L"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv > "$L" 2>&1
echo "normal build: $(ls $ART/*.so 2>/dev/null | wc -l) .so; cluster build: $(ls $CL/*.so 2>/dev/null | tr '\n' ' ')" >> "$L"

# (1) GPU correctness of the cluster build (~20-40 s)
t0=$(date +%s)
CUTE_ATTN_PREFILL_CLUSTER=2 CUTE_ATTN_ARTIFACTS=$CL CUTE_ATTN_CACHE=$W/jit timeout 100 \
    python3 -m pytest -m gpu tests/test_gpu_prefill_cluster.py -q -rs -p no:cacheprovider > $W/test_cluster.log 2>&1
rc=$?
jit=$(find $W/jit -name '*.so' | wc -l)
echo "test_gpu_prefill_cluster rc=$rc $(( $(date +%s) - t0 ))s, JIT-compiled kernels: $jit" >> "$L"
tail -2 $W/test_cluster.log >> "$L"
grep -E "^(FAILED|ERROR)|SKIPPED" $W/test_cluster.log | head -30 >> "$L"
if [ $rc != 0 ] || [ "$jit" != 0 ] || grep -q "skipped" $W/test_cluster.log; then echo "tests failed (or skipped / compiled a kernel): no A/B" >> "$L"; pack; exit 0; fi

# (2) A/B in two processes (~25-35 s each): cl's plan is made with the switch (pair rows, 66 clusters), base's without
for r in 1 2; do
  if [ "$(el)" -gt 150 ]; then echo "ab $r skipped at $(el)s" >> "$L"; continue; fi
  t0=$(date +%s)
  timeout 60 python3 -m bench.prefill_dense_ab --variant base=$ART --variant cl=$CL \
      --env cl:CUTE_ATTN_PREFILL_CLUSTER=2 --cases 1x16384:256:full,4x4096:256:full --rounds 9 --timing rounds \
      --json $W/ab_$r.json > $W/ab_$r.log 2>&1
  echo "ab $r rc=$? $(( $(date +%s) - t0 ))s" >> "$L"
  grep -E "^[0-9]+x[0-9]+:" $W/ab_$r.log >> "$L"
  grep -E "Error|error" $W/ab_$r.log | tail -3 >> "$L"
done

# (3) power probe, each kernel alone 4 s (~20 s per build): normal build, then the cluster build
for b in base cl; do
  lim=190; [ $b = cl ] && lim=215
  if [ "$(el)" -gt $lim ]; then echo "power $b skipped at $(el)s" >> "$L"; continue; fi
  t0=$(date +%s)
  if [ $b = cl ]; then
    CUTE_ATTN_PREFILL_CLUSTER=2 CUTE_ATTN_ARTIFACTS=$CL CUTE_ATTN_CACHE=$W/jit timeout 35 \
        python3 -m bench.power_probe --cases 256:full --secs 4 --json $W/power_$b.json > $W/power_$b.log 2>&1
  else
    CUTE_ATTN_CACHE=$W/jit timeout 35 \
        python3 -m bench.power_probe --cases 256:full --secs 4 --json $W/power_$b.json > $W/power_$b.log 2>&1
  fi
  echo "power $b rc=$? $(( $(date +%s) - t0 ))s" >> "$L"
  grep -E "^\|" $W/power_$b.log | tail -4 >> "$L"
done
echo "JIT-compiled kernels at the end: $(find $W/jit -name '*.so' | wc -l)" >> "$L"
echo "total $(el)s" >> "$L"
pack
