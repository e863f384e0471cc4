#!/bin/bash
# Session 13 call 3 (device): bench.decode_plan_ab --page16 rm --page1 none: at page 16 the default plan (head-minor)
# against the request-major order, cuDNN in the same rounds; zero and read flush.
#   carry [".kit", ".snap3"]; source .kit/unpack.sh .kit >/dev/null && S=.snap3 bash bench/results/2026-11-24_s13/call3.sh
set -u
cd "${S:-.snap3}"
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
i=0; for f in zero read zero; do i=$((i+1))
  timeout 150 python3 -m bench.decode_plan_ab --flush $f --rounds 6 --page16 rm --page1 none --json "$OUT/r/rm${i}_$f.json" > "$OUT/r/rm${i}_$f.log" 2>&1
  log "rm $f rc=$? $(el)"; grep -E "^\|" "$OUT/r/rm${i}_$f.log" | tee -a "$OUT/main.log"
done
tar -cJf "$OUT/call3.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
