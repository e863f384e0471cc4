#!/bin/bash
# Session 7 q-rs: ONE device call (H100; ~170 s of device time, at most ~195 s by the timeouts: give it timeout 240).
# Needs the snapshot that build_snapshot.sh makes on the CPU host (carry [".kit", ".snap-s7-q-rs"], 7.4 MB + the kit),
# run from the device copy's root:
#   source .kit/unpack.sh .kit >/dev/null && bash .snap-s7-q-rs/bench/results/2026-11-23_s7-q-rs/next_call.sh
# Order: (1) GPU tests of the build with CUTE_ATTN_PREFILL_Q_RS=1 (build/qrs: every prefill variant, dense + paged,
# bf16 + fp16, every head dim; Q in registers for hd64 / hd128, the rest as main), (2) in-process A/B
# (bench.prefill_dense_ab: the package's plan, kernels of each artifact dir, interleaved rounds, bench default
# timing = rounds, i.e. each kernel's own sustained windows, cuDNN beside) of base (switch off = main's PTX) / qrs
# (Q in registers; hd128 also without the double-buffered P) / ctl (hd128 without the double-buffered P, Q from shared
# memory; hd64 = base) / half (hd128: Q's first 4 k-blocks in registers, the double-buffered P kept; hd64 = base)
# over hd128 causal and full 16k, hd128 causal 4 x 4k, hd64 causal 16 x 1k, hd64 full 16k
# (the 192 x 128 tile: unchanged by the switch, a noise control), 2 processes x 6 rounds (+ 1 paired if time is left).
# Writes $OUT/main.log (summary, printed at the end) and $OUT/qrs.tar.xz (every log and JSON): 2 files.
set -u
S=${S:-$PWD/.snap-s7-q-rs}
OUT=${OUT:-/tmp/qrs_out}
W=/tmp/qrs
rm -rf $W && mkdir -p "$OUT" $W
cd "$S" || exit 1
export PYTHONPATH=$S${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
unset CUTE_ATTN_PREFILL_Q_RS
L=$OUT/main.log
T0=$(date +%s)
el() { echo $(( $(date +%s) - T0 )); }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv > "$L" 2>&1

# (1) GPU tests FIRST against build/qrs (a wrong Q fragment, ldmatrix partition or early Q release shows here; ~40 s)
t0=$(date +%s)
CUTE_ATTN_ARTIFACTS=$S/build/qrs timeout 110 python3 -m pytest -m gpu tests/test_gpu_prefill.py \
    tests/test_gpu_prefill_paged.py -q -rs -p no:cacheprovider > $W/gpu_tests_qrs.log 2>&1
echo "tests (qrs) rc=$? $(( $(date +%s) - t0 ))s" >> "$L"; tail -3 $W/gpu_tests_qrs.log >> "$L"
grep -E "^(FAILED|ERROR)" $W/gpu_tests_qrs.log | head -20 >> "$L"

# (2) A/B: 2 processes with the bench default timing (rounds: each kernel in its own windows, i.e. at the clock its own
# power draw sets: the figure the prediction is about), then, if time is left, 1 process with --timing paired (the
# kernels alternate call by call at one shared clock: work per clock). An energy-only effect shows as qrs x ctl > 1
# in rounds and ~1.00 in paired. ~45 s each; a process starts only before 140 s and gets at most 190 s - elapsed.
# base first (the ratios' reference), every build's output checked against it, base against a float32 reference.
for r in 1 2 3; do
  t=$(( 190 - $(el) )); [ $t -gt 75 ] && t=75
  if [ "$(el)" -gt 140 ]; then echo "ab $r skipped at $(el)s" >> "$L"; continue; fi
  timing=rounds; [ $r = 3 ] && timing=paired
  t0=$(date +%s)
  timeout $t python3 -m bench.prefill_dense_ab --variant base=$S/ab/base --variant qrs=$S/build/qrs \
      --variant ctl=$S/ab/ctl --variant half=$S/ab/half --rounds 6 --timing $timing --json $W/ab_$r.json \
      --cases 1x16384:128:causal,1x16384:128:full,4x4096:128:causal,16x1024:64:causal,1x16384:64:full \
      > $W/ab_$r.log 2>&1
  echo "ab $r ($timing) rc=$? $(( $(date +%s) - t0 ))s" >> "$L"
done
python3 - >> "$L" 2>&1 <<'PY'
import glob, json
runs = [json.load(open(f)) for f in sorted(glob.glob("/tmp/qrs/ab_*.json"))]
if runs:
    print(runs[0]["env"])
    names = [v.split("=", 1)[0] for v in runs[0]["variants"]]
    print("runs:", [r["env"].get("timing") for r in runs])
    print("case (tile_m) | " + " | ".join(f"{n} x {names[0]} p1/p2(/paired)" for n in names[1:])
          + " | x cuDNN p1: " + " / ".join(names) + " | TFLOP/s p1/p2: " + " / ".join(names) + " / cuDNN")
    for i, row in enumerate(runs[0]["rows"]):
        rows = [r["rows"][i] for r in runs if i < len(r["rows"])]
        cells = [" / ".join("%.4f" % r[f"{n}/{names[0]}"] for r in rows) for n in names[1:]]
        xc = " / ".join("%.3f" % row.get(f"{n}/cuDNN", float("nan")) for n in names)
        tf = " ; ".join(" / ".join("%.1f" % r.get(n, float("nan")) for n in names + ["cuDNN"]) for r in rows)
        # qrs x ctl: median over rounds of the same-round time ratio ctl / qrs (the Q-in-registers effect alone at hd128)
        def med(x):
            x = sorted(x)
            return x[len(x) // 2] if len(x) % 2 else (x[len(x) // 2 - 1] + x[len(x) // 2]) / 2
        qc = " / ".join("%.4f" % med([c / q for c, q in zip(r["rounds_ms"]["ctl"], r["rounds_ms"]["qrs"])])
                        for r in rows if "rounds_ms" in r)
        print(f"{row['case']} ({row['tile_m']}) | " + " | ".join(cells) + f" | qrs x ctl {qc} | {xc} | {tf}")
PY
echo "total $(el)s" >> "$L"
(cd $W && tar -cJf /tmp/qrs.tar.xz .) && mv /tmp/qrs.tar.xz "$OUT"/
cat "$L"
