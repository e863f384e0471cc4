#!/bin/bash
# Session 13 call 2 (device): bench.decode_plan_ab (page 1: head-minor forced vs the default plan; page 16: HND vs NHD;
# cuDNN in the same rounds), zero and read flush; then bench.prefill_paged with the paired timing (every kernel at one
# shared clock: how much of the paged / dense gap follows the clock each kernel's own power draw sets).
#   carry [".kit", ".snap2"]; source .kit/unpack.sh .kit >/dev/null && S=.snap2 bash bench/results/2026-11-24_s13/call2.sh
set -u
cd "${S:-.snap2}"
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
for f in zero read; do
  timeout 150 python3 -m bench.decode_plan_ab --flush $f --rounds 6 --json "$OUT/r/ab_$f.json" > "$OUT/r/ab_$f.log" 2>&1
  log "ab $f rc=$? $(el)"; grep -E "^\|" "$OUT/r/ab_$f.log" | tee -a "$OUT/main.log"
done
timeout 120 python3 -m bench.prefill_paged --timing paired --rounds 5 --json "$OUT/r/paged_paired.json" > "$OUT/r/paged_paired.log" 2>&1
log "paged paired rc=$? $(el)"; grep -E "^\| (prefill|append)" "$OUT/r/paged_paired.log" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call2.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
