#!/bin/bash
# Session 16 call 10 (device): the dense kernel's producer padded with N independent integer multiply-adds per copied
# block on its warp (CUTE_ATTN_PREFILL_PRODUCER_PAD=100 / 200; the consumers' hot loop the same code) against the tree
# and an identical copy, hd128 causal 128 x 128 tile (4 x 4k, 16 x 1k), paired, two processes (NOTES-prefill-paged 37).
#   carry [".kit", ".snap16f", ".ab16"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s16/call10.sh
set -u
R=$PWD; SNAP=.snap16f; source bench/call_env.sh
A=$R/.ab16
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
for p in 1 2; do
  timeout 200 python3 -m bench.prefill_dense_ab --variant base=$A/d_base --variant base2=$A/d_base2 --variant pad100=$A/d_pad100 \
      --variant pad200=$A/d_pad200 --cases 4x4096:128:causal,16x1024:128:causal --no-cudnn --timing paired --rounds 5 \
      --json "$OUT/r/pad_p$p.json" > "$OUT/r/pad_p$p.log" 2>&1
  log "pad paired process $p rc=$? $(el)"; tail -12 "$OUT/r/pad_p$p.log" | tee -a "$OUT/main.log"
done
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call10.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
