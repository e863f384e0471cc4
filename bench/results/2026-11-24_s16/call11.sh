#!/bin/bash
# Session 16 call 11 (device): the box path's V-tail test as one compare per block (CUTE_ATTN_PAGED_VTAIL_FAST=1; the
# consumers' hot loop the same code, 1.000 / 0.998 alike) against the tree and an identical copy, pages 1 (same code),
# 16, 64, paired, two processes (NOTES-prefill-paged 38).
#   carry [".kit", ".snap16f", ".ab16"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s16/call11.sh
set -u
R=$PWD; SNAP=.snap16f; source bench/call_env.sh
A=$R/.ab16
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
for p in 1 2; do
  timeout 200 python3 -m bench.prefill_paged_ab --variant base=$A/vt_base --variant base2=$A/vt_base2 --variant fast=$A/vt_fast \
      --pages 1,16,64 --timing paired --rounds 5 --json "$OUT/r/vt_p$p.json" > "$OUT/r/vt_p$p.log" 2>&1
  log "vtail paired process $p rc=$? $(el)"; grep -E "^(prefill|append|  page)|Error|error" "$OUT/r/vt_p$p.log" | tee -a "$OUT/main.log"
done
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call11.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
