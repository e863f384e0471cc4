#!/bin/bash
# Session 15 call 15 (device): the page-1 gathers on producer warps 0-1 only (.ab15w/gw2, CUTE_ATTN_PAGED_GATHER_WARPS=2)
# x the tree (.snap15z), paired timing, page 1, two processes (NOTES-prefill-paged 33).
#   carry [".kit", ".snap15z", ".ab15w"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s15/call15.sh
set -u
R=$PWD
A=$R/.ab15w
cd .snap15z
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
for p in 1 2; do
  timeout 120 python3 -m bench.prefill_paged_ab --variant tree=$CUTE_ATTN_ARTIFACTS --variant gw2=$A/gw2 --pages 1 \
      --timing paired --rounds 5 --json "$OUT/r/paged_p$p.json" > "$OUT/r/paged_p$p.log" 2>&1
  log "paged paired process $p rc=$? $(el)"; grep -E "^(prefill|append|  page)|Error" "$OUT/r/paged_p$p.log" | tee -a "$OUT/main.log"
done
tar -cJf "$OUT/call15.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
