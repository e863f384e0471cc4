#!/usr/bin/env bash
# decode-v11 device call (run from the repository root after sourcing the kit; snapshots carried):
#   bash .snap-decode-v11/bench/decode_v11_call.sh <main snapshot> <trace snapshot> [steps]
# steps (default "tests bench ab trace"): GPU decode tests, bench.decode --flush read/zero (no extras),
# in-process head-minor A/B (numpy planner, HEAD_MINOR 0/1 interleaved, both flushes), per-CTA trace.
set -u
S=$(realpath "$1"); T=$(realpath "$2"); STEPS=${3:-tests bench ab trace}
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
BASE=${PYTHONPATH:-}
export PYTHONUNBUFFERED=1
envs() { echo "PYTHONPATH=$1${BASE:+:$BASE} CUTE_ATTN_ARTIFACTS=$1/build/artifacts/sm_90a"; }
LOG=$OUT/call.log
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv > "$LOG"
for step in $STEPS; do
  t0=$(date +%s)
  case $step in
    tests)
      (cd "$S" && env $(envs "$S") timeout ${TEST_TIMEOUT:-150} python3 -m pytest -m gpu tests/test_gpu_decode.py -q -rs \
         --timeout=90 -p no:cacheprovider > "$OUT/gpu_tests.log" 2>&1); echo "tests rc=$?" | tee -a "$LOG"
      tail -3 "$OUT/gpu_tests.log" | tee -a "$LOG" ;;
    bench)
      for fl in ${FLUSHES:-read zero}; do
        (cd /tmp && env $(envs "$S") timeout 120 python3 -m bench.decode --no-extras --flush $fl --json "$OUT/bench_$fl.json" \
           >> "$LOG" 2>&1); echo "bench $fl rc=$?" | tee -a "$LOG"
      done ;;
    ab)
      for r in 1 2; do
        if [ $r = 1 ]; then SET="HEAD_MINOR=0 HEAD_MINOR=1 HEAD_MINOR=1 HEAD_MINOR=0 HEAD_MINOR=0 HEAD_MINOR=1 HEAD_MINOR=1 HEAD_MINOR=0"
        else SET="HEAD_MINOR=1 HEAD_MINOR=0 HEAD_MINOR=0 HEAD_MINOR=1 HEAD_MINOR=1 HEAD_MINOR=0 HEAD_MINOR=0 HEAD_MINOR=1"; fi
        (cd /tmp && env $(envs "$S") timeout 150 python3 "$S/bench/decode_ab.py" --label "p$r" --cudnn --flush zero read \
           --cases ${AB_CASES:-"64 x 4k" "128 x 1k" "32 x 8k"} --settings $SET >> "$OUT/ab.log" 2>&1)
        echo "ab $r rc=$?" | tee -a "$LOG"
      done ;;
    trace)
      (cd /tmp && env $(envs "$T") timeout 120 python3 "$T/bench/decode_trace.py" --cases "1 x 32k" --pages 16 1 \
         --settings base CTA_SLACK_DIV=0 --json "$OUT/trace.json" --raw "$OUT/trace_1x32k.npz" > "$OUT/trace.log" 2>&1)
      echo "trace 1x32k rc=$?" | tee -a "$LOG"
      (cd /tmp && env $(envs "$T") timeout 120 python3 "$T/bench/decode_trace.py" --cases "64 x 4k" "8 x 32k" --pages 16 \
         --reps 10 --json "$OUT/trace_large.json" >> "$OUT/trace.log" 2>&1)
      echo "trace large rc=$?" | tee -a "$LOG" ;;
  esac
  echo "step $step $(( $(date +%s) - t0 )) s" | tee -a "$LOG"
done
python3 - "$OUT" <<'PY' | tee -a "$LOG"
import json, sys, collections
rows = [json.loads(l) for l in open(sys.argv[1] + "/ab.log") if l.startswith('{"label"')] if __import__("os").path.exists(sys.argv[1] + "/ab.log") else []
t = collections.defaultdict(list)
for r in rows:
    t[(r["case"], r["page"], r["setting"])].append(r["GBs"])
labels = sorted({k[2] for k in t})
print("case page " + " | ".join(labels))
for case, page in sorted({(k[0], k[1]) for k in t}):
    print(f"{case:10s} {page:3d} " + " | ".join("/".join(f"{x:.0f}" for x in t.get((case, page, l), [])) or "-" for l in labels))
PY
