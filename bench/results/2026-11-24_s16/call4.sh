#!/bin/bash
# Session 16 call 4 (device): per-block traces (CUTE_ATTN_PREFILL_TRACE=1 builds) of the tree's box producers and the
# BOX_EARLY ones (call 3: 2-5 % slower), 4 x 4k hd128 causal, pages 16 and 64, dense beside (NOTES-prefill-paged 35).
#   carry [".kit", ".snap16", ".ab16"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s16/call4.sh
set -u
R=$PWD; SNAP=.snap16; source bench/call_env.sh
A=$R/.ab16
for v in base early; do
  timeout 200 python3 -m bench.prefill_paged_trace --trace-dir $A/tr_$v --normal-dir $A/v_$v --pages 16 64 \
      --json "$OUT/r/trace_$v.json" > "$OUT/r/trace_$v.log" 2>&1
  log "trace $v rc=$? $(el)"; tail -60 "$OUT/r/trace_$v.log" | tee -a "$OUT/main.log"
done
tar -cJf "$OUT/call4.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
