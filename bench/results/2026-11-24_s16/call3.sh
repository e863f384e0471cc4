#!/bin/bash
# Session 16 call 3 (device): the box producer's page-id prefetch without exposed round trips (CUTE_ATTN_PAGED_BOX_EARLY:
# kv_indptr[b] once per tile, raw ids made coordinates one block later, the block loop unrolled 3x) at 40 / 232 (early)
# and 56 / 224 (early56, no spill stall at page 64), the register change alone (r56), against the tree (base); hd128
# causal bf16 paged variants, pages 1 (unchanged code: the control), 16, 64; paired timing, two processes
# (NOTES-prefill-paged 35).
#   carry [".kit", ".snap16", ".ab16"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s16/call3.sh
set -u
R=$PWD; SNAP=.snap16; source bench/call_env.sh
A=$R/.ab16
V="--variant base=$A/v_base --variant early=$A/v_early --variant early56=$A/v_early56 --variant r56=$A/v_r56"
for p in 1 2; do
  timeout 240 python3 -m bench.prefill_paged_ab $V --pages 1,16,64 --timing paired --rounds 5 \
      --json "$OUT/r/early_p$p.json" > "$OUT/r/early_p$p.log" 2>&1
  log "early paired process $p rc=$? $(el)"; grep -E "^(prefill|append|  page)|Error|error" "$OUT/r/early_p$p.log" | tee -a "$OUT/main.log"
done
tar -cJf "$OUT/call3.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
