#!/bin/bash
# Session 8: host-chosen per-CTA work lists (NOTES-prefill 22.3). ONE device call, ~270 s; timeout 420.
# Snapshot (CPU host): bash bench/snapshot.sh .snap-s8-list HEAD 2026-11-23_s8-list && (cd .snap-s8-list &&
#   python3 -m cute_attn.build -j 2) && bash bench/results/2026-11-23_s8-list/ab_dirs.sh .snap-s8-list
# Run: carry [".kit", ".snap-s8-list"]:
#   source .kit/unpack.sh .kit >/dev/null && bash .snap-s8-list/bench/results/2026-11-23_s8-list/next_call.sh
# (1) every prefill GPU test (dense + paged) with the default schedule choice, then with list schedules forced
# (CUTE_ATTN_PREFILL_SCHEDULE=list: every plan of the tests runs a list schedule); (2) A/B of one build under two plans,
# ser (CUTE_ATTN_PREFILL_SCHEDULE=serpentine: the old deal through the new table) and best (the default), 2 processes;
# (3) bench.prefill and bench.prefill_paged with the default.
set -u
S=${S:-$PWD/.snap-s8-list}
OUT=${OUT:-/tmp/list_out}
W=/tmp/list
rm -rf $W && mkdir -p "$OUT" $W
cd "$S" || exit 1
export PYTHONPATH=$S${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$S/build/artifacts/sm_90a
unset CUTE_ATTN_PREFILL_CLUSTER CUTE_ATTN_PREFILL_CTAS CUTE_ATTN_PREFILL_SCHEDULE
L=$OUT/main.log
T0=$(date +%s)
el() { echo $(( $(date +%s) - T0 )); }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv > "$L" 2>&1

for mode in default list; do
  t0=$(date +%s)
  env $([ $mode = list ] && echo CUTE_ATTN_PREFILL_SCHEDULE=list) timeout 120 python3 -m pytest -m gpu \
      tests/test_gpu_prefill.py tests/test_gpu_prefill_paged.py -q -rs -p no:cacheprovider > $W/gpu_tests_$mode.log 2>&1
  echo "tests ($mode) rc=$? $(( $(date +%s) - t0 ))s" >> "$L"; tail -1 $W/gpu_tests_$mode.log >> "$L"
  grep -E "^(FAILED|ERROR)" $W/gpu_tests_$mode.log | head -20 >> "$L"
done

for r in 1 2; do
  if [ "$(el)" -gt 230 ]; then echo "ab $r skipped at $(el)s" >> "$L"; continue; fi
  t0=$(date +%s)
  timeout 70 python3 -m bench.prefill_dense_ab --rounds 6 --variant ser=$S/ab/ser --variant best=$S/ab/best \
      --env ser:CUTE_ATTN_PREFILL_SCHEDULE=serpentine --json $W/ab_$r.json \
      --cases 4x4096:128:causal,16x1024:128:causal,ragged:128:causal,4x4096:64:causal,16x1024:64:causal,ragged:64:causal,1x16384:128:causal,ragged:256:causal,ragged:128:full \
      > $W/ab_$r.log 2>&1
  echo "ab $r rc=$? $(( $(date +%s) - t0 ))s" >> "$L"
done

if [ "$(el)" -lt 300 ]; then
  t0=$(date +%s)
  BENCHES="prefill prefill_paged" BENCH_TIMEOUT=100 OUT=$W bash bench/gpu_suite.sh bench > $W/bench.log 2>&1
  echo "bench rc=$? $(( $(date +%s) - t0 ))s" >> "$L"
  grep -E "^\| (hd|ragged|prefill|append)" $W/bench.log >> "$L"
fi

python3 - >> "$L" 2>&1 <<'PY'
import glob, json
runs = [json.load(open(f)) for f in sorted(glob.glob("/tmp/list/ab_*.json"))]
if runs:
    names = [v.split("=", 1)[0] for v in runs[0]["variants"]]
    print("case (tile_m, CTAs and schedule) | " + " | ".join(f"{n} x {names[0]} per run" for n in names[1:])
          + " | TFLOP/s per run: " + " / ".join(names) + " / cuDNN")
    for i, row in enumerate(runs[0]["rows"]):
        rows = [r["rows"][i] for r in runs if i < len(r["rows"])]
        cells = [" / ".join("%.4f" % r[f"{n}/{names[0]}"] for r in rows) for n in names[1:]]
        tf = " ; ".join(" / ".join("%.1f" % r.get(n, float("nan")) for n in names + ["cuDNN"]) for r in rows)
        print(f"{row['case']} ({row['tile_m']}, {row.get('ctas')}) | " + " | ".join(cells) + f" | {tf}")
PY
echo "total $(el)s" >> "$L"
(cd $W && tar -cJf /tmp/list.tar.xz .) && mv /tmp/list.tar.xz "$OUT"/
cat "$L"
