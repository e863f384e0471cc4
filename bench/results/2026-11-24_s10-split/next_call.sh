#!/bin/bash
# Session 10 s10-split (host side of the split-KV of the last round; bench/NOTES-prefill.md 26). ONE device call (H100;
# ~150-250 s of device time, at most ~330 s by the guards: give it timeout 400). Needs a snapshot of the MERGED tree
# (the lead's kernel with the (..., work, part, count, num_ctas, sm_scale) signature + this branch) whose default build
# (build/artifacts/sm_90a) holds the dense prefill kernels (at least prefill_{bf16,fp16}_headdim128_headdimv128_* and
# the other dense variants test_gpu_prefill.py runs) and the prefill_plan host library; carry [".kit", ".snap-s10-split"]:
#   source .kit/unpack.sh .kit >/dev/null && bash .snap-s10-split/bench/results/2026-11-24_s10-split/next_call.sh
# Order: (1) tests/test_gpu_prefill_split.py (forced splits: bf16/fp16, GQA, q != kv, ragged uniform batch, P = 2..15,
# repeated runs bit-for-bit, split vs CUTE_ATTN_PREFILL_SPLIT=0, CUDA graph) with an empty JIT cache that must stay
# empty; (2) tests/test_gpu_prefill.py (every dense variant through the new argument list, unsplit plans); (3) only if
# both pass: bench.prefill_dense_ab, the same kernels with and without the split (a copy of the build directory,
# CUTE_ATTN_PREFILL_SPLIT=0 for its plan), 8 interleaved rounds, 2 processes (a third only if started before 200 s).
# Writes $OUT/main.log (summary, printed at the end) and $OUT/split.tar.xz (every log and JSON): 2 files.
set -u
S=${S:-$PWD/.snap-s10-split}
OUT=${OUT:-/tmp/split_out}
W=/tmp/split
rm -rf $W && mkdir -p "$OUT" $W
cd "$S" || exit 1
export PYTHONPATH=$S${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
unset CUTE_ATTN_PREFILL_SPLIT CUTE_ATTN_PREFILL_CTAS CUTE_ATTN_PREFILL_SCHEDULE CUTE_ATTN_PREFILL_SET CUTE_ATTN_ARTIFACTS
R=$S/bench/results/2026-11-24_s10-split
ART=$S/build/artifacts/sm_90a
L=$OUT/main.log
T0=$(date +%s)
el() { echo $(( $(date +%s) - T0 )); }
pack() { (cd $W && tar -cJf /tmp/split.tar.xz --exclude=nosplit_art --exclude=jit .) && mv /tmp/split.tar.xz "$OUT"/; cat "$L"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv > "$L" 2>&1
echo "default build: $(ls $ART/*.so 2>/dev/null | wc -l) .so; planner: $(python3 -c 'import importlib; print(importlib.import_module("cute_attn.prefill").planner())' 2>&1 | tail -1)" >> "$L"

# (1) + (2) GPU tests (~30 s + ~60-120 s)
mkdir -p $W/jit
for f in tests/test_gpu_prefill_split.py tests/test_gpu_prefill.py; do
  t0=$(date +%s)
  n=$(basename $f .py)
  CUTE_ATTN_CACHE=$W/jit timeout 170 python3 -m pytest -m gpu $f -q -rs -p no:cacheprovider > $W/$n.log 2>&1
  rc=$?
  jit=$(find $W/jit -name '*.so' | wc -l)
  echo "$n rc=$rc $(( $(date +%s) - t0 ))s, JIT-compiled kernels: $jit" >> "$L"
  tail -2 $W/$n.log >> "$L"
  grep -E "^(FAILED|ERROR)" $W/$n.log | head -30 >> "$L"
  if [ $rc != 0 ] || [ "$jit" != 0 ]; then echo "tests failed (or compiled a kernel): no A/B" >> "$L"; pack; exit 0; fi
done

# (3) A/B: base = the same kernels (a copy: one library per build object) planned with CUTE_ATTN_PREFILL_SPLIT=0.
# Cases: 1 x 16k and 2 x 8k full (1376 tiles on 132 CTAs: 56 split in 2), 1 x 8k full (688: 28 split in 4); controls
# without a split (same plan for both: expect 1.00): 1 x 16k causal, 4 x 4k full (128-row tile).
cp -r $ART $W/nosplit_art
CASES=1x16384:128:full,2x8192:128:full,1x8192:128:full,1x16384:128:causal,4x4096:128:full
for r in 1 2 3; do
  t=$(( 330 - $(el) )); [ $t -gt 80 ] && t=80
  lim=260; [ $r = 3 ] && lim=200
  if [ "$(el)" -gt $lim ] || [ $t -lt 40 ]; then echo "ab $r skipped at $(el)s" >> "$L"; continue; fi
  t0=$(date +%s)
  timeout $t python3 -m bench.prefill_dense_ab --variant nosplit=$W/nosplit_art --variant split=$ART \
      --env nosplit:CUTE_ATTN_PREFILL_SPLIT=0 --cases $CASES --rounds 8 --json $W/ab_$r.json > $W/ab_$r.log 2>&1
  echo "ab $r rc=$? $(( $(date +%s) - t0 ))s" >> "$L"
  grep -E "^[0-9]+x[0-9]+:" $W/ab_$r.log >> "$L"
done

python3 $R/summary.py $W/ab_*.json >> "$L" 2>&1
echo "total $(el)s" >> "$L"
pack
