#!/bin/bash
# Session 16 call 1 (device): where page 64's gap to dense sits (NOTES-prefill-paged 34). hd128 causal bf16 paged builds
# of the box64 spec (.ab16): a = the tree (2 boxes of 64 rows on 2 warps, interleaved stages, 40 / 232), b = one 128-row
# box per block (warp 0), c = b with the non-interleaved stage layout (2 TMAs per block, one per column half, as dense),
# d = c at 24 / 240 registers (dense's split), e = b at 24 / 240, f = a at 24 / 240; all at page 128 (b-e are valid only
# where page_size % 128 == 0; outputs checked bitwise against dense), paired timing, two processes; then page 64 and 128
# of a alone in rounds timing (the published method) for the control.
#   carry [".kit", ".snap16", ".ab16"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s16/call1.sh
set -u
R=$PWD; SNAP=.snap16; source bench/call_env.sh
A=$R/.ab16
V="--variant a=$A/a --variant a2=$A/a --variant b=$A/b --variant c=$A/c --variant d=$A/d --variant e=$A/e --variant f=$A/f"
for p in 1 2; do
  timeout 240 python3 -m bench.prefill_paged_ab $V --pages 128 --timing paired --rounds 5 \
      --json "$OUT/r/p128_p$p.json" > "$OUT/r/p128_p$p.log" 2>&1
  log "page 128 paired process $p rc=$? $(el)"; grep -E "^(prefill|append|  page|[a-f]:)|Error|error" "$OUT/r/p128_p$p.log" | tee -a "$OUT/main.log"
done
timeout 150 python3 -m bench.prefill_paged_ab --variant a=$A/a --pages 64,128 --rounds 5 \
    --json "$OUT/r/a_rounds.json" > "$OUT/r/a_rounds.log" 2>&1
log "a rounds rc=$? $(el)"; grep -E "^(prefill|append|  page)|Error|error" "$OUT/r/a_rounds.log" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call1.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
