#!/bin/bash
# Session 6 paged-row-tma: ONE device call (H100; ~150-200 s of device time, limit 240 s). Needs the snapshot that
# build_snapshot.sh makes on the CPU host (carry [".kit", ".snap-row-tma"]), run from the device copy's root:
#   source .kit/unpack.sh .kit >/dev/null && bash .snap-row-tma/bench/results/2026-11-23_s6-row-tma/next_call.sh
# Order: (1) GPU tests of the paged kernels with CUTE_ATTN_PAGED_ROW_TMA=1 (build and run): every page-1 case of
# tests/test_gpu_prefill_paged.py takes the 1-row TMA boxes, plus test_row_tma_* (every head dim, dtype, mask, both
# layouts, appends), against the float64 reference and bitwise against the dense kernel; then the row tests and the
# page-size sweep again with the hand-issued form (CUTE_ATTN_PAGED_ROW_TMA=asm build, $S/rowasm); (2) in-process A/B
# of page 1, hd128 causal bf16: main (gathers, ab/main) vs row (1-row TMA boxes through cute.copy, ab/row) vs rowasm
# (hand-issued, ab/rowasm), 4 x 4k, 16 x 1k, append 512 on 8k, 3 processes x 6 interleaved rounds (each process
# checks every output bitwise against dense).
# Writes $OUT/main.log (summary, printed at the end) and $OUT/row.tar.xz (every log and JSON): 2 files.
set -u
S=${S:-$PWD/.snap-row-tma}
OUT=${OUT:-/tmp/row_tma_out}
W=/tmp/rowtma
rm -rf $W && mkdir -p "$OUT" $W
cd "$S" || exit 1
export PYTHONPATH=$S${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$S/build/artifacts/sm_90a
export CUTE_ATTN_PAGED_ROW_TMA=1
L=$OUT/main.log
T0=$(date +%s)
el() { echo $(( $(date +%s) - T0 )); }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv > "$L" 2>&1

# (1) GPU tests FIRST (the row-box variants are in build/artifacts/sm_90a; a wrong swizzle or coordinate shows here)
t0=$(date +%s)
timeout 130 python3 -m pytest tests/test_gpu_prefill_paged.py -q -rs -p no:cacheprovider > $W/gpu_tests.log 2>&1
echo "tests rc=$? $(( $(date +%s) - t0 ))s" >> "$L"; tail -3 $W/gpu_tests.log >> "$L"
grep -E "^(FAILED|ERROR)" $W/gpu_tests.log | head -20 >> "$L"
t0=$(date +%s)
CUTE_ATTN_ARTIFACTS=$S/rowasm timeout 60 python3 -m pytest tests/test_gpu_prefill_paged.py -q -rs -p no:cacheprovider \
    -k "row_tma or page_sizes" > $W/gpu_tests_asm.log 2>&1
echo "tests (asm) rc=$? $(( $(date +%s) - t0 ))s" >> "$L"; tail -3 $W/gpu_tests_asm.log >> "$L"
grep -E "^(FAILED|ERROR)" $W/gpu_tests_asm.log | head -20 >> "$L"

# (2) A/B, page 1 only (a process starts only before 190 s)
AB="--variant main=$S/ab/main --variant row=$S/ab/row --variant rowasm=$S/ab/rowasm --pages 1 --cases 0,1,2"
for r in 1 2 3; do
  if [ "$(el)" -gt 185 ]; then echo "ab $r skipped at $(el)s" >> "$L"; continue; fi
  t0=$(date +%s)
  timeout 45 python3 -m bench.prefill_paged_ab $AB --rounds 6 --json $W/ab_$r.json >> $W/ab.log 2>&1
  echo "ab $r rc=$? $(( $(date +%s) - t0 ))s" >> "$L"
done
python3 - >> "$L" 2>&1 <<'PY'
import glob, json, os
allr = {os.path.basename(f): json.load(open(f)) for f in sorted(glob.glob("/tmp/rowtma/ab_[0-9].json"))}
json.dump(allr, open("/tmp/rowtma/ab_all.json", "w"), indent=1)
ratios = {"row": [], "rowasm": []}
for f, d in allr.items():
    print(f, "kernels", d.get("kernels"))
    for r in d["rows"]:
        print(f, r["case"][:13], "dense %.1f" % r["dense"], " | ".join(
            "%s %.1f %.3fx dense %.4fx main" % (v, r[v + "_page1"], r[v + "_page1/dense"], r[v + "_page1/main"])
            for v in ("main", "row", "rowasm")))
        for v in ratios:
            ratios[v].append(r[v + "_page1/main"])
for v, x in ratios.items():
    if x:
        s = sorted(x)
        print("%s/main over %d: mean %.4f median %.4f min %.4f max %.4f" % (
            v, len(s), sum(s) / len(s), s[len(s) // 2], s[0], s[-1]))
PY
echo "total $(el)s" >> "$L"
(cd $W && tar -cJf "$OUT/row.tar.xz" .)
cat "$L"
