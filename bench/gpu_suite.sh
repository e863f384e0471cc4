#!/usr/bin/env bash
# Everything the H100 checks in one call: environment, GPU tests, benchmarks. Logs and JSON go to $OUT.
# Needs: artifacts built on the CPU box (build/artifacts/sm_90a), the runtime kit unpacked (.kit/unpack.sh).
#   source .kit/unpack.sh .kit && export PYTHONPATH=$PWD:$PYTHONPATH && bash bench/gpu_suite.sh [tests|bench|all]
#   PACK=1: one archive $OUT/suite.tar.xz instead of the separate files (the device tool returns at most 8)
set -u
OUT=${OUT:-/tmp/cute_attn_out}
mkdir -p "$OUT"
what=${1:-all}
export PYTHONUNBUFFERED=1
export CUTE_ATTN_ARTIFACTS=${CUTE_ATTN_ARTIFACTS:-$PWD/build/artifacts/sm_90a}
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv | tee "$OUT/env.txt"
python3 -c "import torch, tvm_ffi; print('torch', torch.__version__, 'tvm_ffi', tvm_ffi.__version__)" | tee -a "$OUT/env.txt"
rc=0
if [ "$what" = all ] || [ "$what" = tests ]; then
  timeout ${TEST_TIMEOUT:-300} python3 -m pytest -m gpu ${TESTS:-tests} -q -rs --timeout=120 -p no:cacheprovider 2>&1 | tee "$OUT/gpu_tests.log" | tail -40
  rc=${PIPESTATUS[0]}
fi
if [ "$what" = all ] || [ "$what" = bench ]; then
  for b in ${BENCHES:-memory decode decode_sort_cost prefill prefill_paged}; do
    extra=""
    [ "$b" = prefill ] && extra="--png $OUT/bench_prefill.png"
    timeout ${BENCH_TIMEOUT:-240} python3 -m bench.$b --json "$OUT/bench_$b.json" $extra 2>&1 | tail -40
  done
fi
grep -hE "^[0-9]+ (passed|failed)|passed|failed" "$OUT/gpu_tests.log" 2>/dev/null | tail -1
# PACK=1: everything under $OUT in one archive (the device tool returns at most 8 files; a session lost its test
# log to that limit)
if [ "${PACK:-0}" = 1 ]; then
  (cd "$OUT" && tar -cJf suite.tar.xz --exclude suite.tar.xz . && find . -type f ! -name suite.tar.xz -delete)
fi
exit $rc
