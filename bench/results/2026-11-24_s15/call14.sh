#!/bin/bash
# Session 15 call 14 (device): the vote on the non-causal page-1 variant (.ab15n/ncv) x the tree (.snap15z), paired
# timing, --mask full, page 1, two processes (NOTES-prefill-paged 32). .snap15z's bench/prefill_paged_ab.py is replaced
# by the working tree's (the --mask option); the kernels and host code are 574ae36's.
#   carry [".kit", ".snap15z", ".ab15n"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s15/call14.sh
set -u
R=$PWD
A=$R/.ab15n
cp $R/bench/prefill_paged_ab.py .snap15z/bench/prefill_paged_ab.py
cd .snap15z
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
for p in 1 2; do
  timeout 120 python3 -m bench.prefill_paged_ab --variant tree=$CUTE_ATTN_ARTIFACTS --variant ncv=$A/ncv --pages 1 \
      --mask full --timing paired --rounds 5 --json "$OUT/r/paged_p$p.json" > "$OUT/r/paged_p$p.log" 2>&1
  log "paged paired process $p rc=$? $(el)"; grep -E "^(prefill|append|  page|tree|ncv)|Error" "$OUT/r/paged_p$p.log" | tee -a "$OUT/main.log"
done
tar -cJf "$OUT/call14.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
