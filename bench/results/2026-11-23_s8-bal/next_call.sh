#!/bin/bash
# Session 8: wave-balanced grid (NOTES-prefill 22.2). ONE device call, ~220 s; timeout 300.
# Snapshot (CPU host): bash bench/results/2026-11-23_s8-bal/build_snapshot.sh /work/main/.snap-s8-bal
# Run: carry [".kit", ".snap-s8-bal"]:
#   source .kit/unpack.sh .kit >/dev/null && bash .snap-s8-bal/bench/results/2026-11-23_s8-bal/next_call.sh
# Builds: ab/base (every variant, main's kernels), ab/bal (copy), ab/cl (CUTE_ATTN_PREFILL_CLUSTER=2 build), ab/clbal (copy).
# (1) GPU prefill tests (dense + paged) with CUTE_ATTN_PREFILL_BALANCE=1; (2) A/B hd128 full base/bal/cl/clbal, 2 rounds
# processes + 1 paired; (3) A/B hd256 full, hd128 causal, hd64 full base/bal, 2 processes; (4) power probe base / bal.
set -u
S=${S:-$PWD/.snap-s8-bal}
OUT=${OUT:-/tmp/bal_out}
W=/tmp/bal
rm -rf $W && mkdir -p "$OUT" $W
cd "$S" || exit 1
export PYTHONPATH=$S${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$S/ab/base
unset CUTE_ATTN_PREFILL_CLUSTER CUTE_ATTN_PREFILL_CTAS CUTE_ATTN_PREFILL_BALANCE
L=$OUT/main.log
T0=$(date +%s)
el() { echo $(( $(date +%s) - T0 )); }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv > "$L" 2>&1

t0=$(date +%s)
CUTE_ATTN_PREFILL_BALANCE=1 timeout 150 python3 -m pytest -m gpu tests/test_gpu_prefill.py tests/test_gpu_prefill_paged.py \
    -q -rs -p no:cacheprovider > $W/gpu_tests_bal.log 2>&1
echo "tests (balance) rc=$? $(( $(date +%s) - t0 ))s" >> "$L"; tail -2 $W/gpu_tests_bal.log >> "$L"
grep -E "^(FAILED|ERROR)" $W/gpu_tests_bal.log | head -20 >> "$L"

AB="python3 -m bench.prefill_dense_ab --rounds 6"
for r in 1 2 3; do
  if [ "$(el)" -gt 170 ]; then echo "ab128 $r skipped at $(el)s" >> "$L"; continue; fi
  timing=rounds; [ $r = 3 ] && timing=paired
  t0=$(date +%s)
  timeout 60 $AB --variant base=$S/ab/base --variant bal=$S/ab/bal --variant cl=$S/ab/cl --variant clbal=$S/ab/clbal \
      --env bal:CUTE_ATTN_PREFILL_BALANCE=1 --cluster cl --cluster clbal \
      --env clbal:CUTE_ATTN_PREFILL_BALANCE=1 --timing $timing --json $W/ab128_$r.json \
      --cases 1x16384:128:full,4x4096:128:full,16x1024:128:full > $W/ab128_$r.log 2>&1
  echo "ab128 $r ($timing) rc=$? $(( $(date +%s) - t0 ))s" >> "$L"
done
for r in 1 2; do
  if [ "$(el)" -gt 210 ]; then echo "abx $r skipped at $(el)s" >> "$L"; continue; fi
  t0=$(date +%s)
  timeout 60 $AB --variant base=$S/ab/base --variant bal=$S/ab/bal --env bal:CUTE_ATTN_PREFILL_BALANCE=1 \
      --json $W/abx_$r.json \
      --cases 1x16384:256:full,4x4096:256:full,4x4096:128:causal,16x1024:128:causal,1x16384:128:causal,4x4096:64:full \
      > $W/abx_$r.log 2>&1
  echo "abx $r rc=$? $(( $(date +%s) - t0 ))s" >> "$L"
done
for b in base bal; do
  if [ "$(el)" -gt 250 ]; then echo "power $b skipped at $(el)s" >> "$L"; continue; fi
  t0=$(date +%s)
  env $([ $b = bal ] && echo CUTE_ATTN_PREFILL_BALANCE=1) timeout 40 python3 -m bench.power_probe --secs 4 \
      --cases 128:full,256:full --json $W/power_$b.json > $W/power_$b.log 2>&1
  echo "power $b rc=$? $(( $(date +%s) - t0 ))s" >> "$L"; grep -E "^\| hd" $W/power_$b.log >> "$L"
done

python3 - >> "$L" 2>&1 <<'PY'
import glob, json
for pat in ("/tmp/bal/ab128_*.json", "/tmp/bal/abx_*.json"):
    runs = [json.load(open(f)) for f in sorted(glob.glob(pat))]
    if not runs:
        continue
    names = [v.split("=", 1)[0] for v in runs[0]["variants"]]
    print("runs:", [r.get("env", {}).get("timing") for r in runs])
    print("case (tile_m, CTAs) | " + " | ".join(f"{n} x {names[0]} per run" for n in names[1:])
          + " | x cuDNN run 1: " + " / ".join(names) + " | TFLOP/s per run: " + " / ".join(names) + " / cuDNN")
    for i, row in enumerate(runs[0]["rows"]):
        rows = [r["rows"][i] for r in runs if i < len(r["rows"])]
        cells = [" / ".join("%.4f" % r[f"{n}/{names[0]}"] for r in rows) for n in names[1:]]
        xc = " / ".join("%.3f" % row.get(f"{n}/cuDNN", float("nan")) for n in names)
        tf = " ; ".join(" / ".join("%.1f" % r.get(n, float("nan")) for n in names + ["cuDNN"]) for r in rows)
        print(f"{row['case']} ({row['tile_m']}, {row.get('ctas')}) | " + " | ".join(cells) + f" | {xc} | {tf}")
PY
echo "total $(el)s" >> "$L"
(cd $W && tar -cJf /tmp/bal.tar.xz .) && mv /tmp/bal.tar.xz "$OUT"/
cat "$L"
