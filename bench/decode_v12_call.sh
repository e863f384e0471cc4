#!/usr/bin/env bash
# decode-v12 device call (repository root, kit sourced, both snapshots carried):
#   bash .snap-decode-v12/bench/decode_v12_call.sh .snap-decode-v12 .snap-decode-v12a
# 1. GPU decode tests on S's artifacts (the all-levers build); 2. one-process multi-build A/B (S/build/ab);
# 3. per-CTA traces of 1 x 32k: S/build/trace (all levers) and A/build/trace (main's source).
set -u
S=$(realpath "$1"); A=$(realpath "$2")
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
BASE=${PYTHONPATH:-}
export PYTHONUNBUFFERED=1
LOG=$OUT/call.log
T0=$(date +%s)
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv > "$LOG"
(cd "$S" && env PYTHONPATH=$S${BASE:+:$BASE} CUTE_ATTN_ARTIFACTS=$S/build/artifacts/sm_90a timeout ${TEST_TIMEOUT:-100} \
   python3 -m pytest -m gpu tests/test_gpu_decode.py -q -rs --timeout=60 -p no:cacheprovider > "$OUT/gpu_tests.log" 2>&1)
echo "tests rc=$? $(( $(date +%s) - T0 )) s" | tee -a "$LOG"; tail -3 "$OUT/gpu_tests.log" | tee -a "$LOG"
AB=$S/build/ab
(cd /tmp && env PYTHONPATH=$S${BASE:+:$BASE} CUTE_ATTN_ARTIFACTS=$S/build/artifacts/sm_90a timeout ${AB_TIMEOUT:-200} \
   python3 "$S/bench/decode_multi_build.py" --builds main=$AB masked=$AB own=$AB spec=$AB all=$AB \
   --rounds ${ROUNDS:-6} --budget-s ${AB_BUDGET:-150} --json "$OUT/ab.json" > "$OUT/ab.log" 2>&1)
echo "ab rc=$? $(( $(date +%s) - T0 )) s" | tee -a "$LOG"
grep -v '^{' "$OUT/ab.log" | tail -40 | tee -a "$LOG"
for lab in all main; do
  D=$S; [ $lab = main ] && D=$A
  (cd /tmp && env PYTHONPATH=$D${BASE:+:$BASE} CUTE_ATTN_ARTIFACTS=$D/build/trace timeout 60 python3 "$D/bench/decode_trace.py" \
     --cases "1 x 32k" --pages 16 --flush read zero --json "$OUT/trace_$lab.json" > "$OUT/trace_$lab.log" 2>&1)
  echo "trace $lab rc=$? $(( $(date +%s) - T0 )) s" | tee -a "$LOG"
done
