#!/bin/bash
# Session 5 paged-k3: ONE device call (H100; ~240-290 s of device time, limit 300 s). Needs the snapshot that
# build_snapshot.sh makes on the CPU host (carry [".kit", ".snap-paged-k3"], ~23 MB), run from the device copy's root:
#   source .kit/unpack.sh .kit >/dev/null && bash .snap-paged-k3/bench/results/2026-11-23_s5-paged-k3/next_call.sh
# Order: (1) GPU tests of the build with ALL switches on (paged + dense prefill), (2) the K-round-trip trace of page 1,
# main's gather kernel vs K3's, (3) in-process A/B of the hd128 causal paged kernels a (main) / b (K3: 3 K + 2 V stages,
# K two blocks ahead of V) / e (K3 in the dense order, K one block ahead) / c (trim + TMA store of O) / d (b + c),
# 3 processes x 6 interleaved rounds, (4) ncu of page 1 a / b if time is left.
# Writes $OUT/main.log (summary, printed at the end) and $OUT/k3.tar.xz (every log and JSON): 2 files.
set -u
S=${S:-$PWD/.snap-paged-k3}
OUT=${OUT:-/tmp/paged_k3_out}
mkdir -p "$OUT" /tmp/k3
cd "$S" || exit 1
export PYTHONPATH=$S${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$S/build/artifacts/sm_90a
L=$OUT/main.log
T0=$(date +%s)
el() { echo $(( $(date +%s) - T0 )); }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv > "$L"

# (1) GPU tests: build/artifacts/sm_90a = CUTE_ATTN_PAGED_K3=gather,box + TRIM + TMA_STORE_O (all paged variants, both
# dtypes, every head dim: K3 where head_dim <= 128) and the dense kernels (switch-independent; PTX = main's)
t0=$(date +%s)
timeout 150 python3 -m pytest tests/test_gpu_prefill_paged.py tests/test_gpu_prefill.py -q -rs -p no:cacheprovider \
    > /tmp/k3/gpu_tests.log 2>&1
echo "tests rc=$? $(( $(date +%s) - t0 ))s" >> "$L"; tail -3 /tmp/k3/gpu_tests.log >> "$L"

# (2) trace (NOTES-prefill-paged 12.7): 4 x 4k hd128 causal bf16, page 1 (a: + dense), 3 traced launches each
t0=$(date +%s)
timeout 60 python3 -m bench.prefill_paged_trace --trace-dir build/trace-a --normal-dir ab/a --pages 1 --reps 3 \
    --json /tmp/k3/trace_a.json > /tmp/k3/trace_a.log 2>&1
echo "trace a rc=$? $(( $(date +%s) - t0 ))s" >> "$L"
t0=$(date +%s)
timeout 50 python3 -m bench.prefill_paged_trace --trace-dir build/trace-b --normal-dir ab/b --pages 1 --no-dense \
    --reps 3 --k-stages 3 --json /tmp/k3/trace_b.json > /tmp/k3/trace_b.log 2>&1
echo "trace b rc=$? $(( $(date +%s) - t0 ))s" >> "$L"
python3 - >> "$L" 2>&1 <<'PY'
import json
for t in ("a", "b"):
    try:
        rows = json.load(open(f"/tmp/k3/trace_{t}.json"))
    except Exception as e:  # noqa: BLE001
        print(f"trace {t}: no json ({e})")
        continue
    for r in rows:
        p50 = {k: r[k]["cyc"][1] for k in ("c_kwait", "c_vwait", "rel_to_pacq/steady", "p_emptywait", "p_issue_all",
                                            "p_last_all_to_cgot", "roundtrip/steady", "budget/steady", "step") if k in r}
        print(f"trace {t} {r['kernel']} k_stages {r['k_stages']} waited {r.get('c_kwait_waited_frac', -1):.3f} "
              f"us {r['event_us_trace']:.1f}/{r['event_us_normal']:.1f} p50 " + " ".join(f"{k} {v:.0f}" for k, v in p50.items()))
PY

# (3) A/B, hd128 causal bf16, 16 heads, shuffled pages: 4 x 4k, 16 x 1k, append 512 on 8k; page 1 / 16 / 64
AB="--variant a=$S/ab/a --variant b=$S/ab/b --variant e=$S/ab/e --variant c=$S/ab/c --variant d=$S/build/artifacts/sm_90a"
for r in 1 2 3; do
  if [ "$(el)" -gt 225 ]; then echo "ab $r skipped at $(el)s" >> "$L"; continue; fi
  t0=$(date +%s)
  timeout 60 python3 -m bench.prefill_paged_ab $AB --rounds 6 --json /tmp/k3/ab_$r.json >> /tmp/k3/ab.log 2>&1
  echo "ab $r rc=$? $(( $(date +%s) - t0 ))s" >> "$L"
done
python3 - >> "$L" 2>&1 <<'PY'
import glob, json, os
allr = {os.path.basename(f): json.load(open(f)) for f in sorted(glob.glob("/tmp/k3/ab_*.json"))}
json.dump(allr, open("/tmp/k3/ab_all.json", "w"), indent=1)
for f, d in allr.items():
    for r in d["rows"]:
        print(f, r["case"][:13], "dense %.1f" % r["dense"], " | ".join(
            "%s %.1f %.3fx %.4f" % (k, v, r[k + "/dense"], r[k + "/a"])
            for k, v in r.items() if "_page" in k and "/" not in k))
PY

# (4) ncu, page 1 a / b and dense (one launch each, 4 x 4k): cycles, K-wait slow-path retries in the SASS counters
if [ "$(el)" -lt 250 ]; then
  t0=$(date +%s)
  timeout 40 ncu --clock-control none --nvtx --nvtx-include "dense/" --nvtx-include "a_page1/" --nvtx-include "b_page1/" \
      --section SpeedOfLight --section WarpStateStats --section SourceCounters -o /tmp/k3/prof \
      python3 -m bench.prefill_paged_ab --variant a=$S/ab/a --variant b=$S/ab/b --pages 1 --profile > /tmp/k3/ncu_run.log 2>&1
  echo "ncu rc=$? $(( $(date +%s) - t0 ))s" >> "$L"
  timeout 15 ncu -i /tmp/k3/prof.ncu-rep --page details > /tmp/k3/ncu_details.txt 2>&1
  awk '/<0,/{n=$0} /Elapsed Cycles/{e=$NF} /Warp Cycles Per Issued Instruction/{print n, "cycles", e, "cpi", $NF}' \
      /tmp/k3/ncu_details.txt >> "$L"
  timeout 20 ncu -i /tmp/k3/prof.ncu-rep --page source --csv --print-source sass 2>/dev/null | gzip > /tmp/k3/ncu_sass.csv.gz
else
  echo "ncu skipped at $(el)s" >> "$L"
fi
echo "total $(el)s" >> "$L"
(cd /tmp/k3 && tar -cJf "$OUT/k3.tar.xz" --exclude 'prof.ncu-rep' .)
cat "$L"
