#!/bin/bash
# Session 10 call 4 (device): the final kernels (split-KV of the last round at hd128, hd256 non-causal 2-CTA clusters on by default): every GPU test, then
# bench.prefill processes with 9 rounds per case (NOTES-prefill 26.5) while time allows.
#   carry [".kit", ".snapg"]; source .kit/unpack.sh .kit >/dev/null && S=.snapg bash .snapg/bench/results/2026-11-24_s10/call7.sh
set -u
cd "${S:-.snapg}"
export PYTHONPATH=$PWD:$PYTHONPATH PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
log "planner: $(python3 -c "import importlib; print(importlib.import_module('cute_attn.prefill').planner())" 2>&1 | tail -1)"
timeout 220 python3 -m pytest -m gpu tests -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|Error" "$OUT/r/tests.log" | tail -5 | tee -a "$OUT/main.log"
for i in 1 2 3; do
  [ $(( $(date +%s) - T0 )) -gt 440 ] && break
  timeout 150 python3 -m bench.prefill --json "$OUT/r/prefill$i.json" > "$OUT/r/prefill$i.log" 2>&1
  log "prefill $i rc=$? $(el)"; grep -E "^\| (hd|ragged)|plan\(\) host" "$OUT/r/prefill$i.log" >> "$OUT/main.log"
  nvidia-smi --query-gpu=clocks.sm,temperature.gpu --format=csv,noheader | tee -a "$OUT/main.log"
done
if [ $(( $(date +%s) - T0 )) -lt 470 ]; then
  timeout 100 python3 -m bench.prefill_paged --json "$OUT/r/paged.json" > "$OUT/r/paged.log" 2>&1
  log "paged rc=$? $(el)"; grep -E "^\| (prefill|append)" "$OUT/r/paged.log" >> "$OUT/main.log"
fi
tar -cJf "$OUT/call7.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
