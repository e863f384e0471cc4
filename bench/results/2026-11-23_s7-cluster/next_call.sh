#!/bin/bash
# Session 7 s7-cluster: ONE device call (H100; ~200 s of device time, at most ~245 s by the timeouts: give it timeout
# 280). Needs the snapshot that build_snapshot.sh makes on the CPU host (carry [".kit", ".snap-s7-cluster"]), run from
# the device copy's root:
#   source .kit/unpack.sh .kit >/dev/null && bash .snap-s7-cluster/bench/results/2026-11-23_s7-cluster/next_call.sh
# Order: (0) smoke test of the cluster build (hd128 non-causal bf16 vs float32, timeout 60: a cluster / pipeline
# mistake hangs rather than fails), (1) the dense GPU tests against build/cl with CUTE_ATTN_PREFILL_CLUSTER=2 (the two
# hd128 non-causal variants are 2-CTA clusters with K/V multicast, the plan writes pair rows), (2) in-process A/B
# (bench.prefill_dense_ab, interleaved rounds, cuDNN beside) of base (switch off = main's PTX) / cl (132 CTAs = 66
# clusters) / cl128 (the same kernel, at most 128 CTAs: if cl is >> 3 % slower than cl128 at 1 x 16k, not all 66
# clusters are co-resident) over hd128 full 16k, 4 x 4k, 16 x 1k and hd128 causal 16k (the switch does not apply:
# the noise control), 2 processes with the rounds timing + 1 paired, (3) bench.power_probe hd128 full 16k, base and cl.
# Writes $OUT/main.log (summary, printed at the end) and $OUT/cl.tar.xz (every log and JSON): 2 files.
set -u
S=${S:-$PWD/.snap-s7-cluster}
OUT=${OUT:-/tmp/cl_out}
W=/tmp/cl
rm -rf $W /tmp/cl128 && mkdir -p "$OUT" $W
cd "$S" || exit 1
export PYTHONPATH=$S${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
unset CUTE_ATTN_PREFILL_CLUSTER CUTE_ATTN_PREFILL_CLUSTER_CTAS
L=$OUT/main.log
T0=$(date +%s)
el() { echo $(( $(date +%s) - T0 )); }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv > "$L" 2>&1

# (0) smoke (~15 s): pairs, odd tile counts (a pair's upper tile past the request), ragged + empty member, GQA, 8k
t0=$(date +%s)
CUTE_ATTN_ARTIFACTS=$S/build/cl CUTE_ATTN_PREFILL_CLUSTER=2 timeout 60 \
    python3 bench/results/2026-11-23_s7-cluster/smoke.py > $W/smoke.log 2>&1
rc=$?
echo "smoke rc=$rc $(( $(date +%s) - t0 ))s" >> "$L"; cat $W/smoke.log | tail -8 >> "$L"
if [ $rc != 0 ]; then
  echo "smoke failed: no tests, no A/B" >> "$L"
  (cd $W && tar -cJf /tmp/cl.tar.xz .) && mv /tmp/cl.tar.xz "$OUT"/
  cat "$L"; exit 0
fi

# (1) GPU tests of the dense kernel against build/cl (~25 s)
t0=$(date +%s)
CUTE_ATTN_ARTIFACTS=$S/build/cl CUTE_ATTN_PREFILL_CLUSTER=2 timeout 120 python3 -m pytest -m gpu \
    tests/test_gpu_prefill.py -q -rs -p no:cacheprovider > $W/gpu_tests_cl.log 2>&1
echo "tests (cl) rc=$? $(( $(date +%s) - t0 ))s" >> "$L"; tail -3 $W/gpu_tests_cl.log >> "$L"
grep -E "^(FAILED|ERROR)" $W/gpu_tests_cl.log | head -20 >> "$L"

# (2) A/B, ~40 s per process; a process starts only before 150 s and gets at most 200 s - elapsed. cl128: a copy of
# build/cl (one library per build object).
cp -r $S/build/cl /tmp/cl128
for r in 1 2 3; do
  t=$(( 200 - $(el) )); [ $t -gt 70 ] && t=70
  if [ "$(el)" -gt 150 ]; then echo "ab $r skipped at $(el)s" >> "$L"; continue; fi
  timing=rounds; [ $r = 3 ] && timing=paired
  t0=$(date +%s)
  timeout $t python3 -m bench.prefill_dense_ab --variant base=$S/ab/base --variant cl=$S/build/cl \
      --variant cl128=/tmp/cl128 --cluster cl --cluster cl128:128 --rounds 6 --timing $timing --json $W/ab_$r.json \
      --cases 1x16384:128:full,4x4096:128:full,16x1024:128:full,1x16384:128:causal > $W/ab_$r.log 2>&1
  echo "ab $r ($timing) rc=$? $(( $(date +%s) - t0 ))s" >> "$L"
done

# (3) power: each kernel alone 4 s, SM clock and board power (base, then cl), if time is left (~15 s each)
for b in base cl; do
  if [ "$(el)" -gt 205 ]; then echo "power $b skipped at $(el)s" >> "$L"; continue; fi
  t0=$(date +%s)
  if [ $b = cl ]; then
    CUTE_ATTN_ARTIFACTS=$S/build/cl CUTE_ATTN_PREFILL_CLUSTER=2 timeout 30 python3 -m bench.power_probe --secs 4 \
        --cases 128:full --json $W/power_$b.json > $W/power_$b.log 2>&1
  else
    CUTE_ATTN_ARTIFACTS=$S/ab/base timeout 30 python3 -m bench.power_probe --secs 4 --cases 128:full \
        --json $W/power_$b.json > $W/power_$b.log 2>&1
  fi
  echo "power $b rc=$? $(( $(date +%s) - t0 ))s" >> "$L"; tail -6 $W/power_$b.log >> "$L"
done

python3 - >> "$L" 2>&1 <<'PY'
import glob, json
runs = [json.load(open(f)) for f in sorted(glob.glob("/tmp/cl/ab_*.json"))]
if runs:
    print(runs[0].get("env"))
    names = [v.split("=", 1)[0] for v in runs[0]["variants"]]
    print("runs:", [r.get("env", {}).get("timing") for r in runs])
    print("case (tile_m) | " + " | ".join(f"{n} x {names[0]} p1/p2(/paired)" for n in names[1:])
          + " | x cuDNN p1: " + " / ".join(names) + " | TFLOP/s per process: " + " / ".join(names) + " / cuDNN")
    for i, row in enumerate(runs[0]["rows"]):
        rows = [r["rows"][i] for r in runs if i < len(r["rows"])]
        cells = [" / ".join("%.4f" % r[f"{n}/{names[0]}"] for r in rows) for n in names[1:]]
        xc = " / ".join("%.3f" % row.get(f"{n}/cuDNN", float("nan")) for n in names)
        tf = " ; ".join(" / ".join("%.1f" % r.get(n, float("nan")) for n in names + ["cuDNN"]) for r in rows)
        print(f"{row['case']} ({row['tile_m']}) | " + " | ".join(cells) + f" | {xc} | {tf}")
PY
echo "total $(el)s" >> "$L"
(cd $W && tar -cJf /tmp/cl.tar.xz .) && mv /tmp/cl.tar.xz "$OUT"/
cat "$L"
