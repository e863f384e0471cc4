#!/bin/bash
# Session 15 call 6 (device): call 1's paged builds (.ab15p: b0 / vm / vm4, hd128 bf16 paged variants) in --timing
# paired, pages 1 and 16, two processes (NOTES-prefill-paged 26, call 6). Dense reference: the final tree (.snap15h).
#   carry [".kit", ".snap15h", ".ab15p"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s15/call6.sh
set -u
R=$PWD
A=$R/.ab15p
cd .snap15h
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
for p in 1 2; do
  timeout 200 python3 -m bench.prefill_paged_ab --variant b0=$A/b0 --variant vm=$A/vm --variant vm4=$A/vm4 --pages 1,16 \
      --timing paired --rounds 5 --json "$OUT/r/paged_p$p.json" > "$OUT/r/paged_p$p.log" 2>&1
  log "paged paired process $p rc=$? $(el)"; grep -E "^(prefill|append|  page)" "$OUT/r/paged_p$p.log" | tee -a "$OUT/main.log"
done
tar -cJf "$OUT/call6.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
