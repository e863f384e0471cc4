#!/bin/bash
# Session 15 call 10 (device): CUTE_ATTN_PAGED_GATHER_PACE builds (.ab15q: 20 ns / 2 passes, 50 / 2, 50 / 4, 100 / 4)
# x the tree's page-1 variant (.snap15i), paired timing, page 1, two processes (NOTES-prefill-paged 29).
#   carry [".kit", ".snap15i", ".ab15q"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s15/call10.sh
set -u
R=$PWD
A=$R/.ab15q
cd .snap15i
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
for p in 1 2; do
  timeout 150 python3 -m bench.prefill_paged_ab --variant tree=$CUTE_ATTN_ARTIFACTS --variant p20_2=$A/p20_2 \
      --variant p50_2=$A/p50_2 --variant p50_4=$A/p50_4 --variant p100_4=$A/p100_4 --pages 1 \
      --timing paired --rounds 5 --json "$OUT/r/paged_p$p.json" > "$OUT/r/paged_p$p.log" 2>&1
  log "paged paired process $p rc=$? $(el)"; grep -E "^(prefill|append|  page)" "$OUT/r/paged_p$p.log" | tee -a "$OUT/main.log"
done
tar -cJf "$OUT/call10.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
