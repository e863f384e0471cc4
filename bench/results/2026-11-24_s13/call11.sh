#!/bin/bash
# Session 13 call 11 (device): bench.prefill_paged with contiguous page ids and with shuffled ones (9 rounds each).
#   carry [".kit", ".snap10"]; source .kit/unpack.sh .kit >/dev/null && S=.snap10 bash bench/results/2026-11-24_s13/call11.sh
set -u
cd "${S:-.snap10}"
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
for pg in contiguous shuffled; do
  timeout 120 python3 -m bench.prefill_paged --pages $pg --rounds 9 --json "$OUT/r/paged_$pg.json" > "$OUT/r/paged_$pg.log" 2>&1
  log "paged $pg rc=$? $(el)"; grep -E "^\| (prefill|append)" "$OUT/r/paged_$pg.log" | tee -a "$OUT/main.log"
done
tar -cJf "$OUT/call11.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
