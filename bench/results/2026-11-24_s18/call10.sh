#!/bin/bash
# Session 18 call 10 (device): the gather variant's vote + 4 max chains at hd64 / hd256 causal (NOTES-prefill-paged 52):
# bench.prefill_paged_ab --pages 1, paired, two processes per head dim; base = .snap18e's kernels, base2 a copy, vote
# the CUTE_ATTN_PREFILL_SET build (.ab18v).
#   carry [".kit", ".snap18e", ".ab18v"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s18/call10.sh
set -u
R=$PWD; SNAP=.snap18e; source bench/call_env.sh
A=$R/.ab18v
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
for m in 64:1 64:2 256:1 256:2; do
  d=${m%%:*}; p=${m#*:}
  timeout 150 python3 -m bench.prefill_paged_ab --head-dim $d --rounding --variant base=$A/base --variant base2=$A/base2 \
      --variant vote=$A/vote --unchecked vote --pages 1 --timing paired --rounds 5 --json "$OUT/r/hd${d}_p$p.json" \
      > "$OUT/r/hd${d}_p$p.log" 2>&1
  log "hd$d process $p rc=$? $(el)"; grep -E "^(prefill|append|  page)|Error|error" "$OUT/r/hd${d}_p$p.log" | tee -a "$OUT/main.log"
done
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call10.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
