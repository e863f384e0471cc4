#!/bin/bash
# Session 13 call 5 (device): bench.decode_plan_ab --page16 kvsplit --page1 kvsplit: K and V as two caches against the
# stacked cache (same pages, plan and kernel), pages 1 and 16, cuDNN in the same rounds; zero, read, zero flush.
#   carry [".kit", ".snap5"]; source .kit/unpack.sh .kit >/dev/null && S=.snap5 bash bench/results/2026-11-24_s13/call5.sh
set -u
cd "${S:-.snap5}"
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
i=0; for f in zero read zero; do i=$((i+1))
  timeout 150 python3 -m bench.decode_plan_ab --flush $f --rounds 6 --page16 kvsplit --page1 kvsplit --json "$OUT/r/kv${i}_$f.json" > "$OUT/r/kv${i}_$f.log" 2>&1
  log "kv $f rc=$? $(el)"; grep -E "^\|" "$OUT/r/kv${i}_$f.log" | tee -a "$OUT/main.log"
done
tar -cJf "$OUT/call5.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
