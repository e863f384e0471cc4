#!/bin/bash
# Session 20 call 11 (device): decode traces of hd64 and hd128 (.ab20t64: CUTE_ATTN_DECODE_TRACE=1 builds of both, from
# .snap20i's sources), 128 x 1k and 64 x 4k, pages 16 / 1, read flush.
#   carry [".kit", ".snap20i", ".ab20t64"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s20/call11.sh
set -u
R=$PWD; SNAP=.snap20i; source bench/call_env.sh
for d in 64 128; do
    CUTE_ATTN_ARTIFACTS=$R/.ab20t64 timeout 150 python3 bench/decode_trace.py --head-dim $d --cases "128 x 1k" "64 x 4k" \
        --pages 16 1 --flush read --reps 20 --json "$OUT/r/trace_hd$d.json" > "$OUT/r/trace_hd$d.log" 2>&1
    log "trace hd$d rc=$? $(el)"; cut -c1-700 "$OUT/r/trace_hd$d.log" | tee -a "$OUT/main.log"
done
tar -cJf "$OUT/call11.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
