#!/bin/bash
# Session 15 call 8 (device): the elected release (CUTE_ATTN_PAGED_ELECT_RELEASE, .ab15e/el) x the tree's page-1
# variant in paired timing, two processes (NOTES-prefill-paged 27); dense vote alone / 2 / 4 chains x off on hd64 causal,
# hd256 and the hd128 128-row tile, paired, one process. Tree / reference: .snap15i (14371a0).
#   carry [".kit", ".snap15i", ".ab15e"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s15/call8.sh
set -u
R=$PWD
A=$R/.ab15e
cd .snap15i
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
for p in 1 2; do
  timeout 100 python3 -m bench.prefill_paged_ab --variant tree=$CUTE_ATTN_ARTIFACTS --variant el=$A/el --pages 1 \
      --timing paired --rounds 5 --json "$OUT/r/paged_p$p.json" > "$OUT/r/paged_p$p.log" 2>&1
  log "paged paired process $p rc=$? $(el)"; grep -E "^(prefill|append|  page)" "$OUT/r/paged_p$p.log" | tee -a "$OUT/main.log"
done
timeout 150 python3 -m bench.prefill_dense_ab --variant off=$A/d_b0 --variant vm=$A/d_vm --variant v2=$A/d_v2 \
    --variant v4=$A/d_v4 --timing paired --rounds 5 \
    --cases 1x16384:64:causal,4x4096:64:causal,1x16384:256:causal,16x1024:256:causal,1x16384:256:full,4x4096:128:causal,16x1024:128:causal \
    --json "$OUT/r/dense.json" > "$OUT/r/dense.log" 2>&1
log "dense paired rc=$? $(el)"; grep -E "^\|" "$OUT/r/dense.log" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call8.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
