#!/usr/bin/env bash
# Device driver of a decode A/B over several builds (run from the repository root on the device after
# sourcing the kit, every snapshot carried):
#   TEST_DIR=<snapshot whose decode GPU tests run first> ORDER_DIR=<snapshot for bench/decode_order.py> \
#   NCU="<label> ..." bash <snapshot>/bench/decode_ab_multi.sh <rounds> <label>=<snapshot> ...
# Per round, each build's bench/decode_ab.py in its own process in the given order (cuDNN in each);
# then the read-order experiment and an ncu DRAM/L2 reading of 64x4k for the builds named in $NCU.
# Logs and JSON under $OUT.
set -u
ROUNDS=$1; shift
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
BASE_PATH=${PYTHONPATH:-}
export PYTHONUNBUFFERED=1
declare -A DIRS; LABELS=()
for kv in "$@"; do DIRS[${kv%%=*}]=$(realpath "${kv#*=}"); LABELS+=("${kv%%=*}"); done
ME=$(dirname "$(realpath "$0")")
# CASES="64 x 4k;1 x 32k;..." (bench case names, ';'-separated), L2="dirty clean": extra timings
CASE_ARGS=(); L2_ARGS=()
if [ -n "${CASES:-}" ]; then IFS=';' read -r -a CASES_ARR <<< "$CASES"; CASE_ARGS=(--cases "${CASES_ARR[@]}"); fi
if [ -n "${L2:-}" ]; then L2_ARGS=(--l2 $L2); fi
if [ -n "${FLUSH:-}" ]; then L2_ARGS+=(--flush $FLUSH); fi  # FLUSH="zero read": main timers (bench.common.time_ms_flush)
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv > "$OUT/ab.log"
env_of() { echo "PYTHONPATH=$1${BASE_PATH:+:$BASE_PATH} CUTE_ATTN_ARTIFACTS=$1/build/artifacts/sm_90a"; }
if [ -n "${TEST_DIR:-}" ]; then
  T=$(realpath "$TEST_DIR")
  (cd "$T" && env $(env_of "$T") timeout ${TEST_TIMEOUT:-120} python3 -m pytest -m gpu tests/test_gpu_decode.py -q -rs \
     --timeout=60 -p no:cacheprovider > "$OUT/gpu_tests.log" 2>&1)
  echo "tests rc=$?"; tail -3 "$OUT/gpu_tests.log"
fi
for r in $(seq 1 "$ROUNDS"); do
  ORDER=("${LABELS[@]}")  # odd rounds in the given order, even rounds reversed (A B C, C B A, ...)
  if [ $((r % 2)) = 0 ]; then ORDER=(); for ((i=${#LABELS[@]}-1; i>=0; i--)); do ORDER+=("${LABELS[$i]}"); done; fi
  for l in "${ORDER[@]}"; do
    d=${DIRS[$l]}
    (cd /tmp && env $(env_of "$d") timeout ${BENCH_TIMEOUT:-100} python3 "$ME/decode_ab.py" --label "$l" --cudnn \
       ${CASE_ARGS[@]+"${CASE_ARGS[@]}"} ${L2_ARGS[@]+"${L2_ARGS[@]}"} >> "$OUT/ab.log" 2>&1)
    echo "$l$r rc=$?"
  done
done
if [ -n "${ORDER_DIR:-}" ]; then
  O=$(realpath "$ORDER_DIR")
  (cd /tmp && env $(env_of "$O") timeout 90 python3 "$ME/decode_order.py" --label order --json "$OUT/order.json" \
     > "$OUT/order.log" 2>&1); echo "order rc=$?"
fi
if [ -n "${NCU:-}" ] && command -v ncu > /dev/null; then
  for l in $NCU; do
    d=${DIRS[$l]}
    echo "=== $l" >> "$OUT/ncu.txt"
    (cd "$d" && env $(env_of "$d") timeout ${NCU_TIMEOUT:-45} ncu --clock-control none ${NCU_FLAGS:-} --nvtx --nvtx-include "ours/" --metrics \
      gpu__time_duration.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,dram__bytes_read.sum,dram__bytes_write.sum,lts__t_sector_hit_rate.pct,lts__throughput.avg.pct_of_peak_sustained_elapsed,sm__cycles_active.avg,sm__cycles_elapsed.max \
      python3 -m bench.decode_profile ${NCU_CASES:-64x4096}) >> "$OUT/ncu.txt" 2>&1
    echo "ncu $l rc=$?"
  done
  grep -E "^=== |gpu__time|dram__|lts__|sm__cycles" "$OUT/ncu.txt" | head -60
fi
python3 - "$OUT" <<'EOF'
import glob, json, sys, collections
rows = [json.loads(l) for l in open(sys.argv[1] + "/ab.log") if l.startswith('{"label"')]
t = collections.defaultdict(list)
for r in rows:
    s = r["setting"]
    key = s if s.startswith("cudnn") else r["label"] + s.replace("base", "")
    t[(r["case"], r["page"], key)].append(r["GBs"])
labels = sorted({k[2] for k in t})
print("case page " + " ".join(labels))
for case, page in sorted({(k[0], k[1]) for k in t}):
    print(f"{case:10s} {page:3d} " + " ".join("/".join(f"{x:.0f}" for x in t.get((case, page, l), [])) or "-" for l in labels))
EOF
