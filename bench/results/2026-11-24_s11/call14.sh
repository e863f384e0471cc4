#!/bin/bash
# Session 11 call 14 (device): every GPU test on the final tree (prefill()'s cache total summed, not counted; after
# the one removed-switch guard; kernels' PTX unchanged).
#   carry [".kit", ".snap4"]; source .kit/unpack.sh .kit >/dev/null && S=.snap4 bash bench/results/2026-11-24_s11/call14.sh
set -u
cd "${S:-.snap4}"
export PYTHONPATH=$PWD:$PYTHONPATH PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}
python3 -c "import importlib; print('planner:', importlib.import_module('cute_attn.prefill').planner())" 2>&1 | tail -1
timeout 300 python3 -m pytest -m gpu tests -q -rs --timeout=120 -p no:cacheprovider > $OUT/tests.log 2>&1
echo "tests rc=$?"; grep -E "passed|failed|^FAILED|^ERROR" $OUT/tests.log | tail -8
