#!/usr/bin/env bash
# Device driver of a decode A/B (run from the repository root on the device, both snapshots carried):
#   bash <B>/bench/decode_ab.sh <A snapshot> <B snapshot> "<B settings>" [rounds]
# smoke test of B (one queue case, 60 s), B's decode GPU tests, then A/B bench rounds interleaved
# (A B A B ...), each its own process; logs and JSON under $OUT.
set -u
A=$(realpath "$1"); B=$(realpath "$2"); SETTINGS=${3:-base}; ROUNDS=${4:-2}
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv > "$OUT/env.txt"
side() {  # side <dir> <label> <extra args...>
  local dir=$1 label=$2; shift 2
  (cd /tmp && PYTHONPATH=$dir CUTE_ATTN_ARTIFACTS=$dir/build/artifacts/sm_90a timeout 150 python3 "$B/bench/decode_ab.py" --label "$label" "$@")
}
cd "$B"
export CUTE_ATTN_ARTIFACTS=$B/build/artifacts/sm_90a
if ! PYTHONPATH=$B timeout 90 python3 -m pytest -m gpu tests/test_gpu_decode.py -q -x --timeout=60 -p no:cacheprovider \
    -k "test_queue_chunks and 2048" > "$OUT/smoke.log" 2>&1; then
  tail -30 "$OUT/smoke.log"; echo SMOKE FAILED
  PYTHONPATH=$B timeout ${TEST_TIMEOUT:-150} python3 -m pytest -m gpu tests/test_gpu_decode.py -q -rs --timeout=40 -p no:cacheprovider > "$OUT/gpu_tests.log" 2>&1
  tail -30 "$OUT/gpu_tests.log"; exit 1
fi
tail -2 "$OUT/smoke.log"
for r in $(seq 1 "$ROUNDS"); do
  host=""; [ "$r" = "$ROUNDS" ] && host="--host"
  side "$A" A --cudnn $host --json "$OUT/ab_A$r.json" >> "$OUT/ab.log" 2>&1; echo "A$r rc=$?"
  side "$B" B --cudnn $host --settings $SETTINGS --json "$OUT/ab_B$r.json" >> "$OUT/ab.log" 2>&1; echo "B$r rc=$?"
done
PYTHONPATH=$B timeout ${TEST_TIMEOUT:-150} python3 -m pytest -m gpu tests/test_gpu_decode.py -q -rs --timeout=60 -p no:cacheprovider > "$OUT/gpu_tests.log" 2>&1
echo "tests rc=$?"; tail -5 "$OUT/gpu_tests.log"
