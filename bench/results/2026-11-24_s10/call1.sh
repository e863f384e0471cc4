#!/bin/bash
# Session 10 call 1 (device): split-KV of the last round (NOTES-prefill 26). Order: every GPU test (the split tests
# first), the A/B split on / off of one build (copies of it; the plan switch CUTE_ATTN_PREFILL_SPLIT=0), then
# bench.prefill processes for issue 4's figures while time allows.
#   carry [".kit", ".snapk3"]; source .kit/unpack.sh .kit >/dev/null && S=.snapk3 bash .snapk3/bench/results/2026-11-24_s10/call1.sh
set -u
cd "${S:-.snapk3}"
export PYTHONPATH=$PWD:$PYTHONPATH PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
log "planner: $(python3 -c "import importlib; print(importlib.import_module('cute_attn.prefill').planner())" 2>&1 | tail -1)"
timeout 60 python3 -m pytest -m gpu tests/test_prefill_split_gpu.py -q -rs -x --timeout=50 -p no:cacheprovider > "$OUT/r/split_tests.log" 2>&1
log "split tests rc=$? $(el)"; tail -3 "$OUT/r/split_tests.log" | tee -a "$OUT/main.log"
timeout 200 python3 -m pytest -m gpu tests -q -rs --timeout=120 -p no:cacheprovider --ignore=tests/test_prefill_split_gpu.py > "$OUT/r/gpu_tests.log" 2>&1
log "tests rc=$? $(el)"; tail -2 "$OUT/r/gpu_tests.log" | tee -a "$OUT/main.log"
A=build/artifacts/sm_90a; rm -rf /tmp/nosplit && cp -r "$A" /tmp/nosplit
for i in 1 2; do
  timeout 100 python3 -m bench.prefill_dense_ab --variant split=$A --variant nosplit=/tmp/nosplit \
    --env nosplit:CUTE_ATTN_PREFILL_SPLIT=0 --rounds 5 --timing rounds \
    --cases 1x16384:128:full,1x8192:128:full --json "$OUT/r/ab$i.json" > "$OUT/r/ab$i.log" 2>&1
  log "ab $i rc=$? $(el)"; grep -E "^\||split" "$OUT/r/ab$i.log" | tail -12 >> "$OUT/main.log"
done
for i in 1 2 3; do
  [ $(( $(date +%s) - T0 )) -gt 430 ] && break
  timeout 100 python3 -m bench.prefill --json "$OUT/r/prefill$i.json" > "$OUT/r/prefill$i.log" 2>&1
  log "prefill $i rc=$? $(el)"; grep -E "^\| (hd|ragged)|plan\(\) host" "$OUT/r/prefill$i.log" >> "$OUT/main.log"
done
nvidia-smi --query-gpu=clocks.sm,temperature.gpu --format=csv,noheader | tee -a "$OUT/main.log"
tar -cJf "$OUT/call1.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
