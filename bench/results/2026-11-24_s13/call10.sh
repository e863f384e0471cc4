#!/bin/bash
# Session 13 call 10 (device): every GPU test on the final tree (the decode kernel source gained the REVERSE_ODD and PLAN_EVICT_LAST entries of
# its removed-switch list after call 1; PTX of all 6 decode variants unchanged).
#   carry [".kit", ".snap10"]; source .kit/unpack.sh .kit >/dev/null && S=.snap10 bash .snap10/bench/results/2026-11-24_s13/call10.sh
set -u
cd "${S:-.snap10}"
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
log "planner: $(python3 -c "import importlib; print(importlib.import_module('cute_attn.prefill').planner())" 2>&1 | tail -1)"
timeout 240 python3 -m pytest -m gpu tests -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -8 | tee -a "$OUT/main.log"
tar -cJf "$OUT/call10.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
