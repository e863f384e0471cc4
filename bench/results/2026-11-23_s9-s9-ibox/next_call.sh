#!/bin/bash
# Session 9 s9-ibox: ONE device call (H100; ~100-130 s of device time, at most ~150 s by the guards: give it timeout
# 200). Needs the snapshot that build_snapshot.sh makes on the CPU host (carry [".kit", ".snap-s9-ibox"]), run from the
# device copy's root:
#   source .kit/unpack.sh .kit >/dev/null && bash .snap-s9-ibox/bench/results/2026-11-23_s9-s9-ibox/next_call.sh
# The question (bench/NOTES-prefill-paged.md 20): does one TMA box per page piece (CUTE_ATTN_PAGED_KV_INTERLEAVE=1: the
# K/V stages' 128-byte-swizzle atom tiled columns first, so a 16-row page is one contiguous 4 KiB run; 8 UTMALDG of 4
# KiB per tensor and block instead of 16 of 2 KiB) recover page 16's gap to dense?
# Order: (1) check_ibox.py (the 12 switched variants are up to date and the ones the API loads), then ALL paged GPU
# tests (tests/test_gpu_prefill_paged.py: bf16 + fp16, hd64 / 128 / 256, NHD + HND, page sizes 1-256, GQA, stacked /
# padded caches, graph replay; bitwise against dense) against the switched build (CUTE_ATTN_ARTIFACTS=ibox, searched
# first; an empty JIT cache that must stay empty), (2) only if they pass: in-process A/B (bench.prefill_paged_ab,
# interleaved rounds) base (switch off = main's PTX, the snapshot's default build) / ibox at pages 16 and 64, hd128
# causal bf16 4 x 4k and 16 x 1k, 8 rounds, 2 processes (a third only if started before 90 s), each <= 60 s.
# Writes $OUT/main.log (summary, printed at the end) and $OUT/ibox.tar.xz (every log and JSON): 2 files.
set -u
S=${S:-$PWD/.snap-s9-ibox}
OUT=${OUT:-/tmp/ibox_out}
W=/tmp/ibox
rm -rf $W && mkdir -p "$OUT" $W
cd "$S" || exit 1
export PYTHONPATH=$S${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
unset CUTE_ATTN_PAGED_TRIM CUTE_ATTN_PAGED_TMA_STORE_O CUTE_ATTN_PREFILL_TRACE CUTE_ATTN_PREFILL_KV_BOX_ROWS \
    CUTE_ATTN_PREFILL_SET CUTE_ATTN_ARTIFACTS
# the run-time guard of the switch (cute_attn.prefill_paged.check_interleave_strides): on for the tests and the A/B
export CUTE_ATTN_PAGED_KV_INTERLEAVE=1
R=$S/bench/results/2026-11-23_s9-s9-ibox
L=$OUT/main.log
T0=$(date +%s)
el() { echo $(( $(date +%s) - T0 )); }
pack() { (cd $W && tar -cJf /tmp/ibox.tar.xz .) && mv /tmp/ibox.tar.xz "$OUT"/; cat "$L"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv > "$L" 2>&1
echo "ibox: $(ls $S/ibox/*.so | wc -l) .so; default build: $(ls $S/build/artifacts/sm_90a/*.so | wc -l) .so" >> "$L"

# (1) the switched variants are the ones loaded; then the paged GPU tests against them (~30-45 s)
CUTE_ATTN_ARTIFACTS=$S/ibox python3 $R/check_ibox.py $S/ibox 12 > $W/check_ibox.log 2>&1
rc=$?
tail -1 $W/check_ibox.log >> "$L"
if [ $rc != 0 ]; then echo "check_ibox failed: no tests, no A/B" >> "$L"; pack; exit 0; fi
mkdir -p $W/jit
t0=$(date +%s)
CUTE_ATTN_ARTIFACTS=$S/ibox CUTE_ATTN_CACHE=$W/jit timeout 100 python3 -m pytest -m gpu tests/test_gpu_prefill_paged.py \
    -q -rs -p no:cacheprovider > $W/gpu_tests_ibox.log 2>&1
rc=$?
jit=$(find $W/jit -name '*.so' | wc -l)
echo "tests (ibox) rc=$rc $(( $(date +%s) - t0 ))s, JIT-compiled kernels: $jit" >> "$L"
tail -3 $W/gpu_tests_ibox.log >> "$L"
grep -E "^(FAILED|ERROR)" $W/gpu_tests_ibox.log | head -30 >> "$L"
if [ $rc != 0 ] || [ "$jit" != 0 ]; then
  echo "the tests failed (or compiled a kernel): no A/B" >> "$L"; pack; exit 0
fi

# (2) A/B, ~20-30 s per process; processes 1-2 start before 110 s, a third only before 90 s; each gets at most
# 150 s - elapsed (and 60 s)
for r in 1 2 3; do
  t=$(( 150 - $(el) )); [ $t -gt 60 ] && t=60
  lim=110; [ $r = 3 ] && lim=90
  if [ "$(el)" -gt $lim ] || [ $t -lt 25 ]; then echo "ab $r skipped at $(el)s" >> "$L"; continue; fi
  t0=$(date +%s)
  timeout $t python3 -m bench.prefill_paged_ab --variant base=$S/build/artifacts/sm_90a --variant ibox=$S/ibox \
      --pages 16,64 --cases 0,1 --rounds 8 --timing rounds --json $W/ab_$r.json > $W/ab_$r.log 2>&1
  echo "ab $r rc=$? $(( $(date +%s) - t0 ))s" >> "$L"
  grep -E "^(base|ibox):" $W/ab_$r.log | sort -u | head -8 >> "$L"
  tail -4 $W/ab_$r.log | grep -v "^|" >> "$L"
done

python3 $R/summary.py $W/ab_*.json >> "$L" 2>&1
echo "total $(el)s" >> "$L"
pack
