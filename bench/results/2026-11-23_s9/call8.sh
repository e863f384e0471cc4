#!/bin/bash
# Session 9 call 8 (device): the final tree after the review mends (one sm_scale check, the interleaved-box map in
# layouts/paged.py: PTX of the paged box variants identical on the CPU host): which planner loads, every GPU test.
#   carry [".kit", ".snap5"]; source .kit/unpack.sh .kit >/dev/null && bash .snap5/bench/results/2026-11-23_s9/call8.sh
set -u
cd "${S:-.snap5}"
export PYTHONPATH=$PWD:$PYTHONPATH PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,temperature.gpu --format=csv | tee "$OUT/main.log"
echo "planner: $(python3 -c "import importlib; print(importlib.import_module('cute_attn.prefill').planner())" 2>&1 | tail -1)" | tee -a "$OUT/main.log"
timeout 200 python3 -m pytest -m gpu tests -q -rs --timeout=120 -p no:cacheprovider > "$OUT/gpu_tests.log" 2>&1
echo "tests rc=$?" | tee -a "$OUT/main.log"; tail -2 "$OUT/gpu_tests.log" | tee -a "$OUT/main.log"
