#!/bin/bash
# Session 9 call 6 (device): the merged final tree (eb5edcb: call 5's kernels, unchanged, + the compiled prefill plan):
# which planner loads, every GPU test, three bench.prefill processes (issue 4 and plan() host time), one
# bench.prefill_paged, power probe of the two non-causal 16k cases.
#   carry [".kit", ".snap4"]; source .kit/unpack.sh .kit >/dev/null && bash .snap4/bench/results/2026-11-23_s9/call6.sh
set -u
cd "${S:-.snap4}"
export PYTHONPATH=$PWD:$PYTHONPATH PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
log "planner: $(python3 -c "import importlib; print(importlib.import_module('cute_attn.prefill').planner())" 2>&1 | tail -1)"
timeout 200 python3 -m pytest -m gpu tests -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/gpu_tests.log" 2>&1
log "tests rc=$? $(el)"; tail -2 "$OUT/r/gpu_tests.log" | tee -a "$OUT/main.log"
for i in 1 2 3; do
  [ $(( $(date +%s) - T0 )) -gt 400 ] && break
  timeout 120 python3 -m bench.prefill --json "$OUT/r/prefill$i.json" > "$OUT/r/prefill$i.log" 2>&1
  log "prefill $i rc=$? $(el)"; grep -E "^\| (hd|ragged)|plan\(\) host" "$OUT/r/prefill$i.log" >> "$OUT/main.log"
done
timeout 90 python3 -m bench.prefill_paged --json "$OUT/r/paged1.json" > "$OUT/r/paged1.log" 2>&1
log "paged rc=$? $(el)"; grep -E "^\| (prefill|append)|plan" "$OUT/r/paged1.log" >> "$OUT/main.log"
timeout 60 python3 -m bench.power_probe --secs 4 --cases 128:full,256:full --json "$OUT/r/power.json" > "$OUT/r/power.log" 2>&1
log "power rc=$? $(el)"; grep -E "^\| hd" "$OUT/r/power.log" >> "$OUT/main.log"
tar -cJf "$OUT/call6.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
