#!/bin/bash
# Session 6 poly-exp2: ONE device call (H100; ~170-200 s of device time, give it timeout 300). Needs the snapshot that
# build_snapshot.sh makes on the CPU host (carry [".kit", ".snap-poly-exp2"], ~7 MB + the kit), run from the device
# copy's root:
#   source .kit/unpack.sh .kit >/dev/null && bash .snap-poly-exp2/bench/results/2026-11-23_s6-poly-exp2/next_call.sh
# Order: (1) GPU tests of the build with CUTE_ATTN_SOFTMAX_POLY_EXP2=4 (every prefill variant: dense + paged, bf16 +
# fp16, every head dim), (2) in-process A/B (bench.prefill_dense_ab: the package's plan, kernels of each artifact dir,
# interleaved rounds, cuDNN beside) of base (switch off = main's PTX) / poly8 / poly4 / poly2 over hd64 causal and
# full at 16 x 1k and 1 x 16k, hd128 full and causal 16k, hd256 full 16k, 3 processes x 6 rounds. (hd64 causal with
# every 8th / 4th P emulated was measured in session 4, prefill-v6 call 2: -2 to -8 %; here it is the replicate.)
# Writes $OUT/main.log (summary, printed at the end) and $OUT/poly.tar.xz (every log and JSON): 2 files.
set -u
S=${S:-$PWD/.snap-poly-exp2}
OUT=${OUT:-/tmp/poly_out}
mkdir -p "$OUT" /tmp/poly
cd "$S" || exit 1
export PYTHONPATH=$S${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
unset CUTE_ATTN_SOFTMAX_POLY_EXP2
L=$OUT/main.log
T0=$(date +%s)
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv > "$L"

# (1) GPU tests against build/poly4 (every 4th P by the polynomial; ~35 s, 128 tests at session 6's count)
t0=$(date +%s)
CUTE_ATTN_ARTIFACTS=$S/build/poly4 timeout 150 python3 -m pytest -m gpu tests/test_gpu_prefill.py \
    tests/test_gpu_prefill_paged.py -q -rs -p no:cacheprovider > /tmp/poly/gpu_tests_poly4.log 2>&1
echo "tests (poly4) rc=$? $(( $(date +%s) - t0 ))s" >> "$L"; tail -3 /tmp/poly/gpu_tests_poly4.log >> "$L"
grep -E "^(FAILED|ERROR)" /tmp/poly/gpu_tests_poly4.log | head -20 >> "$L"

# (2) A/B, 3 processes (~45 s each): base first (the ratios' reference), output of every build checked against it
for r in 1 2 3; do
  t0=$(date +%s)
  timeout 100 python3 -m bench.prefill_dense_ab --variant base=$S/ab/base --variant poly8=$S/ab/poly8 \
      --variant poly4=$S/build/poly4 --variant poly2=$S/ab/poly2 --rounds 6 --json /tmp/poly/ab_$r.json \
      --cases 16x1024:64:causal,16x1024:64:full,1x16384:64:causal,1x16384:64:full,1x16384:128:full,1x16384:128:causal,1x16384:256:full \
      > /tmp/poly/ab_$r.log 2>&1
  echo "ab $r rc=$? $(( $(date +%s) - t0 ))s" >> "$L"
done
python3 - >> "$L" 2>&1 <<'PY'
import glob, json
runs = [json.load(open(f)) for f in sorted(glob.glob("/tmp/poly/ab_*.json"))]
if runs:
    print(runs[0]["env"])
    names = [v.split("=", 1)[0] for v in runs[0]["variants"]]
    print("case (tile_m) | " + " | ".join(f"{n} x {names[0]} p1/p2/p3" for n in names[1:])
          + " | base x cuDNN p1/p2/p3 | x cuDNN p1: " + " / ".join(names) + " | TFLOP/s p1: " + " / ".join(names))
    for i, row in enumerate(runs[0]["rows"]):
        rows = [r["rows"][i] for r in runs if i < len(r["rows"])]
        cells = [" / ".join("%.3f" % r[f"{n}/{names[0]}"] for r in rows) for n in names[1:]]
        cud = " / ".join("%.3f" % r.get(f"{names[0]}/cuDNN", float("nan")) for r in rows)
        xc = " / ".join("%.3f" % row.get(f"{n}/cuDNN", float("nan")) for n in names)
        tf = " / ".join("%.1f" % row[n] for n in names)
        print(f"{row['case']} ({row['tile_m']}) | " + " | ".join(cells) + f" | {cud} | {xc} | {tf}")
PY
echo "total $(( $(date +%s) - T0 ))s" >> "$L"
cp /tmp/poly/*.log /tmp/poly/*.json "$OUT"/ 2>/dev/null
(cd "$OUT" && tar -cJf /tmp/poly.tar.xz --exclude main.log . && find . -type f ! -name main.log -delete && mv /tmp/poly.tar.xz .)
cat "$L"
