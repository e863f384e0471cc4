#!/bin/bash
# Session 13 call 7 (device): bench.decode_plan_ab --groups: the CTA group orders g = 1, 2, 4, 8 against the default plan
# at 64 x 4k and 128 x 1k, pages 1 and 16, cuDNN in the same rounds; zero, read, zero flush.
#   carry [".kit", ".snap7"]; source .kit/unpack.sh .kit >/dev/null && S=.snap7 bash .snap7/bench/results/2026-11-24_s13/call7.sh
set -u
cd "${S:-.snap7}"
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
i=0; for f in zero read zero; do i=$((i+1))
  timeout 150 python3 -m bench.decode_plan_ab --flush $f --rounds 6 --groups --json "$OUT/r/g${i}_$f.json" > "$OUT/r/g${i}_$f.log" 2>&1
  log "groups $f rc=$? $(el)"; grep -E "^\|" "$OUT/r/g${i}_$f.log" | tee -a "$OUT/main.log"
done
tar -cJf "$OUT/call7.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
