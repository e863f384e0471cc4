#!/bin/bash
# Session 16 call 2 (device): page 64 as four 32-row boxes on the four producer warps (g, CUTE_ATTN_PAGED_BOX_ROWS=32
# over the box64 spec: one box per warp per block, 0 spills) against the tree (a, two 64-row boxes on two warps) and an
# identical-kernel control (a2), pages 64 and 128, paired timing, two processes (NOTES-prefill-paged 34).
#   carry [".kit", ".snap16", ".ab16"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s16/call2.sh
set -u
R=$PWD; SNAP=.snap16; source bench/call_env.sh
A=$R/.ab16
for p in 1 2; do
  timeout 200 python3 -m bench.prefill_paged_ab --variant a=$A/a --variant a2=$A/a --variant g=$A/g --pages 64,128 \
      --timing paired --rounds 5 --json "$OUT/r/g_p$p.json" > "$OUT/r/g_p$p.log" 2>&1
  log "box32 paired process $p rc=$? $(el)"; grep -E "^(prefill|append|  page)|Error|error" "$OUT/r/g_p$p.log" | tee -a "$OUT/main.log"
done
tar -cJf "$OUT/call2.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
