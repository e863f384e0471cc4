#!/bin/bash
# Session 10 call 9 (device): the final tree (the manifest now records the cluster switch; kernels unchanged since
# call 7, PTX checked on the CPU): every GPU test.
#   carry [".kit", ".snaph"]; source .kit/unpack.sh .kit >/dev/null && S=.snaph bash .snaph/bench/results/2026-11-24_s10/call9.sh
set -u
cd "${S:-.snaph}"
export PYTHONPATH=$PWD:$PYTHONPATH PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu --format=csv | tee "$OUT/main.log"
echo "planner: $(python3 -c "import importlib; print(importlib.import_module('cute_attn.prefill').planner())" 2>&1 | tail -1)" | tee -a "$OUT/main.log"
timeout 240 python3 -m pytest -m gpu tests -q -rs --timeout=120 -p no:cacheprovider > "$OUT/tests.log" 2>&1
echo "tests rc=$?" | tee -a "$OUT/main.log"; tail -3 "$OUT/tests.log" | tee -a "$OUT/main.log"
