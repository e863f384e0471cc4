#!/usr/bin/env bash
# Device driver of a decode A/B (run from the repository root on the device after sourcing the kit, both
# snapshots carried):
#   bash <B>/bench/decode_ab.sh <A snapshot> <B snapshot> "<B settings>" [rounds]
# smoke test of B ($SMOKE_K, a pytest -k expression on tests/test_gpu_decode.py), A/B bench rounds interleaved (A B A B ..., each its own process,
# cuDNN in each), B's decode GPU tests, ncu SM-activity spread of A and B at 64x4k; logs and JSON under $OUT.
set -u
A=$(realpath "$1"); B=$(realpath "$2"); SETTINGS=${3:-base}; ROUNDS=${4:-2}
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
BASE_PATH=${PYTHONPATH:-}
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv > "$OUT/ab.log"
side() {  # side <dir> <label> <extra args...>
  local dir=$1 label=$2; shift 2
  (cd /tmp && PYTHONPATH=$dir${BASE_PATH:+:$BASE_PATH} CUTE_ATTN_ARTIFACTS=$dir/build/artifacts/sm_90a \
     timeout 150 python3 "$B/bench/decode_ab.py" --label "$label" "$@")
}
cd "$B"
export PYTHONPATH=$B${BASE_PATH:+:$BASE_PATH} CUTE_ATTN_ARTIFACTS=$B/build/artifacts/sm_90a
if ! timeout 100 python3 -m pytest -m gpu tests/test_gpu_decode.py -q -x --timeout=60 -p no:cacheprovider \
    -k "${SMOKE_K:-test_long_and_skewed}" > "$OUT/smoke.log" 2>&1; then
  tail -30 "$OUT/smoke.log"; echo SMOKE FAILED
  timeout ${TEST_TIMEOUT:-150} python3 -m pytest -m gpu tests/test_gpu_decode.py -q -rs --timeout=40 -p no:cacheprovider > "$OUT/gpu_tests.log" 2>&1
  tail -30 "$OUT/gpu_tests.log"; exit 1
fi
tail -2 "$OUT/smoke.log"
for r in $(seq 1 "$ROUNDS"); do
  host=""; [ "$r" = "$ROUNDS" ] && host="--host"
  side "$A" A --cudnn $host --json "$OUT/ab_A$r.json" >> "$OUT/ab.log" 2>&1; echo "A$r rc=$?"
  side "$B" B --cudnn $host --settings $SETTINGS --json "$OUT/ab_B$r.json" >> "$OUT/ab.log" 2>&1; echo "B$r rc=$?"
done
timeout ${TEST_TIMEOUT:-150} python3 -m pytest -m gpu tests/test_gpu_decode.py -q -rs --timeout=60 -p no:cacheprovider > "$OUT/gpu_tests.log" 2>&1
echo "tests rc=$?"; tail -3 "$OUT/gpu_tests.log"
if command -v ncu > /dev/null; then
  for s in A B; do
    dir=$A; [ $s = B ] && dir=$B
    echo "=== $s" >> "$OUT/ncu.txt"
    (cd "$dir" && PYTHONPATH=$dir${BASE_PATH:+:$BASE_PATH} CUTE_ATTN_ARTIFACTS=$dir/build/artifacts/sm_90a timeout 60 \
      ncu --clock-control none --nvtx --nvtx-include "ours/" --metrics \
      gpu__time_duration.sum,sm__cycles_active.min,sm__cycles_active.avg,sm__cycles_active.max,sm__cycles_elapsed.max,dram__throughput.avg.pct_of_peak_sustained_elapsed \
      python3 -m bench.decode_profile 64x4096 1x32768) >> "$OUT/ncu.txt" 2>&1
    echo "ncu $s rc=$?"
  done
  grep -E "^=== |ours|gpu__time|sm__cycles|dram__" "$OUT/ncu.txt" | grep -v "==PROF==" | head -60
fi
