#!/bin/bash
# Session 18 call 12 (device): 4 max chains on hd64 causal's 128 x 128 tile in the paged box variants and the dense
# kernel (NOTES-prefill-paged 53): bench.prefill_paged_ab --cases 1,2 --pages 16,64, dense of the c4 build too, paired,
# two processes; base = .snap18g's kernels (base2 a copy), c4 the CUTE_ATTN_PREFILL_SET build (.ab18x).
#   carry [".kit", ".snap18g", ".ab18x"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s18/call12.sh
set -u
R=$PWD; SNAP=.snap18g; source bench/call_env.sh
A=$R/.ab18x
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
for p in 1 2; do
  timeout 150 python3 -m bench.prefill_paged_ab --head-dim 64 --rounding --variant base=$A/base --variant base2=$A/base2 \
      --variant c4=$A/c4 --unchecked c4 --dense-variant c4=$A/c4 --cases 1,2 --pages 16,64 --timing paired --rounds 5 \
      --json "$OUT/r/c4s_p$p.json" > "$OUT/r/c4s_p$p.log" 2>&1
  log "c4 short process $p rc=$? $(el)"; grep -E "^(prefill|append|  page)|dense|Error|error" "$OUT/r/c4s_p$p.log" | tee -a "$OUT/main.log"
done
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call12.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
