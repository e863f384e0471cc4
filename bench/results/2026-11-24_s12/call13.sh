#!/bin/bash
# Session 12 call 13 (device): every GPU test on the final code (.snap6 = 6b45095: plan(sort_pages) added, default off;
# kernels as call 4's).  carry [".kit", ".snap6"]; source .kit/unpack.sh .kit >/dev/null && bash <this script>
set -u
cd .snap6
export PYTHONPATH=$PWD:$PYTHONPATH PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}
python3 -c "import importlib; print('planner:', importlib.import_module('cute_attn.prefill').planner())" 2>&1 | tail -1
timeout 300 python3 -m pytest -m gpu tests -q -rs --timeout=120 -p no:cacheprovider > $OUT/tests.log 2>&1
echo "tests rc=$?"; grep -E "passed|failed|^FAILED|^ERROR" $OUT/tests.log | tail -8
