#!/bin/bash
# Session 10 call 10 (device): the dense / split / cluster GPU tests after the test helpers moved to
# tests/prefill_helpers.py (the snapshot .snaph's artifacts; the kernel's PTX is unchanged by 079f24e).
#   carry [".kit", ".snaph"]; source .kit/unpack.sh .kit >/dev/null && S=.snaph bash bench/results/2026-11-24_s10/call10.sh
set -u
cd "${S:-.snaph}"
export PYTHONPATH=$PWD:$PYTHONPATH PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
timeout 200 python3 -m pytest -m gpu tests/test_gpu_prefill.py tests/test_gpu_prefill_split.py tests/test_gpu_prefill_cluster.py \
  -q -rs --timeout=120 -p no:cacheprovider > "$OUT/tests.log" 2>&1
echo "tests rc=$?"; tail -3 "$OUT/tests.log"
