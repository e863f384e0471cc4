#!/usr/bin/env bash
# decode-fix: the next session's ONE decode A/B device call (< 300 s). Build here (CPU, ~2.5 min of one core):
#   S=/work/main/.snap-decode-fix; rm -rf $S && mkdir -p $S && git -C /work/wt-decode-fix archive decode-fix | tar -x -C $S
#   cd $S && CUTE_ATTN_DECODE_SPEC_ITEM=2 CUTE_ATTN_DECODE_EARLY_LOADS=1 CUTE_ATTN_DECODE_MERGE_MASKED=2 \
#       CUTE_ATTN_DECODE_MERGE_UNROLL=16 PYTHONPATH=$S python3 -m cute_attn.build -j 1 --only 'decode*'   # all on, 6 variants
#   PYTHONPATH=$S python3 bench/decode_build_tagged.py main build/ab                                          # main's PTX
#   CUTE_ATTN_DECODE_SPEC_ITEM=2 PYTHONPATH=$S python3 bench/decode_build_tagged.py spec2 build/ab
#   CUTE_ATTN_DECODE_MERGE_MASKED=1 CUTE_ATTN_DECODE_MERGE_UNROLL=16 PYTHONPATH=$S python3 bench/decode_build_tagged.py masked build/ab
#   CUTE_ATTN_DECODE_MERGE_MASKED=2 CUTE_ATTN_DECODE_MERGE_UNROLL=16 PYTHONPATH=$S python3 bench/decode_build_tagged.py masked2 build/ab
#   CUTE_ATTN_DECODE_SPEC_ITEM=2 CUTE_ATTN_DECODE_EARLY_LOADS=1 PYTHONPATH=$S python3 bench/decode_build_tagged.py early build/ab
#   CUTE_ATTN_DECODE_TRACE=1 PYTHONPATH=$S python3 -m cute_attn.build -j 1 --only 'decode_bf16_headdim128*' --out build/trace_main
#   CUTE_ATTN_DECODE_TRACE=1 CUTE_ATTN_DECODE_SPEC_ITEM=2 CUTE_ATTN_DECODE_EARLY_LOADS=1 CUTE_ATTN_DECODE_MERGE_MASKED=2 \
#       CUTE_ATTN_DECODE_MERGE_UNROLL=16 PYTHONPATH=$S python3 -m cute_attn.build -j 1 --only 'decode_bf16_headdim128*' --out build/trace_all
# Device (carry [".kit", ".snap-decode-fix"], 16 + 8.1 MB = ~24 MB; timeout_s 300):
#   source .kit/unpack.sh .kit >/dev/null && bash .snap-decode-fix/bench/results/2026-11-23_s5-decode-fix/next_call.sh .snap-decode-fix
# 1. decode GPU tests (41, incl. test_max_parts_plans: splits of 2/3/5/12 parts) on the all-switches-on build
#    (SPEC_ITEM=2 + EARLY_LOADS + MERGE_MASKED=2, 6 variants; the snapshot's compiled planner);
# 2. the MAX_PARTS planner tests (compiled vs numpy; skipped where the device has no g++);
# 3. one-process A/B: builds main / spec2 / masked (width 16) / masked2 (width by part count) / early (= spec2 +
#    early loads) and plans p8 / p12 (main's kernel on MAX_PARTS=8 / 12 plans) and p8m2 (masked2 on the p8 plan)
#    at 1x32k, 8x32k, 64x4k, 128x1k, 16x16k, pages 16 and 1, flush zero and read, rounds alternating the order
#    until AB_BUDGET s;
# 4. per-CTA traces of 1 x 32k (page 16, flush read and zero): the all-on trace build (start-up: SPEC_ITEM=2 + early
#    loads; merge: masked2) and main's trace build on the default plan and on MAX_PARTS=8 (numpy planner).
# Output: $OUT/call.log + $OUT/decode-fix.tar.xz (every log and json; re-packed after each step, so a run cut off
# by the device limit still returns what it finished). Expected ~200-230 s; worst case (every timeout) ~300 s.
set -u
S=$(realpath "$1")
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"; W=$(mktemp -d)
BASE=${PYTHONPATH:-}
export PYTHONUNBUFFERED=1
LOG=$OUT/call.log
T0=$(date +%s)
pack() { tar -C "$W" -cJf "$OUT/decode-fix.tar.xz" . ; }
TO=$(python3 -c "import pytest_timeout" 2>/dev/null && echo --timeout=60)  # per-test limit where the plugin exists
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv > "$LOG"
(cd "$S" && env PYTHONPATH=$S${BASE:+:$BASE} CUTE_ATTN_ARTIFACTS=$S/build/artifacts/sm_90a timeout ${TEST_TIMEOUT:-80} \
   python3 -m pytest -m gpu tests/test_gpu_decode.py -q -rs $TO -p no:cacheprovider > "$W/gpu_tests.log" 2>&1)
echo "gpu tests (all switches on) rc=$? $(( $(date +%s) - T0 )) s" | tee -a "$LOG"; tail -3 "$W/gpu_tests.log" | tee -a "$LOG"; pack
(cd "$S" && env PYTHONPATH=$S${BASE:+:$BASE} timeout 30 python3 -m pytest tests/test_decode_plan.py -q -k "max_parts" \
   -p no:cacheprovider > "$W/plan_tests.log" 2>&1)
echo "max_parts plan tests rc=$? $(( $(date +%s) - T0 )) s" | tee -a "$LOG"; tail -1 "$W/plan_tests.log" | tee -a "$LOG"; pack
AB=$S/build/ab
FLUSH=${FLUSH:-zero read}
(cd /tmp && env PYTHONPATH=$S${BASE:+:$BASE} CUTE_ATTN_ARTIFACTS=$S/build/artifacts/sm_90a timeout ${AB_TIMEOUT:-130} \
   python3 "$S/bench/decode_multi_build.py" --builds main=$AB spec2=$AB masked=$AB masked2=$AB early=$AB \
   --plans p8=main:MAX_PARTS=8 p12=main:MAX_PARTS=12 p8m2=masked2:MAX_PARTS=8 \
   --cases "1 x 32k" "8 x 32k" "64 x 4k" "128 x 1k" "16 x 16k" --pages 16 1 --flush $FLUSH \
   --rounds ${ROUNDS:-6} --rep-ms ${REP_MS:-60} --budget-s ${AB_BUDGET:-100} --json "$W/ab.json" > "$W/ab.log" 2>&1)
echo "ab rc=$? $(( $(date +%s) - T0 )) s" | tee -a "$LOG"
grep '"check"\|"plan"' "$W/ab.log" | tee -a "$LOG"
grep -v '^{' "$W/ab.log" | tail -40 | tee -a "$LOG"; pack
for lab in all main; do
  SET="base"; [ $lab = main ] && SET="base MAX_PARTS=8"
  (cd /tmp && env PYTHONPATH=$S${BASE:+:$BASE} CUTE_ATTN_ARTIFACTS=$S/build/trace_$lab timeout ${TRACE_TIMEOUT:-30} \
     python3 "$S/bench/decode_trace.py" --cases "1 x 32k" --pages 16 --flush read zero --settings $SET \
     --json "$W/trace_$lab.json" > "$W/trace_$lab.log" 2>&1)
  echo "trace $lab rc=$? $(( $(date +%s) - T0 )) s" | tee -a "$LOG"; grep -v '^{' "$W/trace_$lab.log" | tail -30 >> "$LOG"; pack
done
rm -rf "$W"
echo "done $(( $(date +%s) - T0 )) s" | tee -a "$LOG"
