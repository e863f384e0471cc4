#!/bin/bash
# Session 10 call 8 (device): the final tree again (no change since call 7): three more bench.prefill processes (issue
# 4's figures, 9 rounds) and the power probe (each kernel alone at 700 W) of the 16k cases changed this session.
#   carry [".kit", ".snapg"]; source .kit/unpack.sh .kit >/dev/null && S=.snapg bash .snapg/bench/results/2026-11-24_s10/call8.sh
set -u
cd "${S:-.snapg}"
export PYTHONPATH=$PWD:$PYTHONPATH PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
for i in 1 2 3; do
  [ $(( $(date +%s) - T0 )) -gt 400 ] && break
  timeout 150 python3 -m bench.prefill --json "$OUT/r/prefill$i.json" > "$OUT/r/prefill$i.log" 2>&1
  log "prefill $i rc=$? $(el)"; grep -E "^\| (hd|ragged)|plan\(\) host" "$OUT/r/prefill$i.log" >> "$OUT/main.log"
  nvidia-smi --query-gpu=clocks.sm,temperature.gpu --format=csv,noheader | tee -a "$OUT/main.log"
done
timeout 100 python3 -m bench.power_probe --secs 4 --cases 128:full,256:full,64:causal,128:causal --json "$OUT/r/power.json" > "$OUT/r/power.log" 2>&1
log "power rc=$? $(el)"; grep -E "^\| hd" "$OUT/r/power.log" >> "$OUT/main.log"
tar -cJf "$OUT/call8.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
