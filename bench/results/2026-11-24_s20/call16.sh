#!/bin/bash
# Session 20 call 16 (device): raw decode trace stamps (per CTA, with the SM id) over 30 launches, hd128 64 x 4k and hd64
# 128 x 1k, page 16, read flush (.snap20l; trace build .ab20t2 from its sources).
#   carry [".kit", ".snap20l", ".ab20t2"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s20/call16.sh
set -u
R=$PWD; SNAP=.snap20l; source bench/call_env.sh
CUTE_ATTN_ARTIFACTS=$R/.ab20t2 timeout 120 python3 bench/decode_trace.py --head-dim 128 --cases "64 x 4k" --pages 16 \
    --flush read --reps 30 --raw "$OUT/r/raw_hd128_64x4k.npz" > "$OUT/r/trace_hd128.log" 2>&1
log "trace hd128 rc=$? $(el)"
CUTE_ATTN_ARTIFACTS=$R/.ab20t2 timeout 120 python3 bench/decode_trace.py --head-dim 64 --cases "128 x 1k" --pages 16 \
    --flush read --reps 30 --raw "$OUT/r/raw_hd64_128x1k.npz" > "$OUT/r/trace_hd64.log" 2>&1
log "trace hd64 rc=$? $(el)"
ls -la "$OUT/r" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call16.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
