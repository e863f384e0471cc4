#!/bin/bash
# Session 20 call 14 (device): hd64 3 vs 4 stages on the head-minor page-1 plans (.snap20k's planner; tagged builds
# s4 / s4b / s3 in .ab20h), 64 x 4k and 128 x 1k, pages 1 / 16, zero and read flush.
#   carry [".kit", ".snap20k", ".ab20h"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s20/call14.sh
set -u
R=$PWD; SNAP=.snap20k; source bench/call_env.sh
timeout 300 python3 bench/decode_multi_build.py --head-dim 64 --builds s4=$R/.ab20h s4b=$R/.ab20h s3=$R/.ab20h \
    --cases "64 x 4k" "128 x 1k" --pages 1 16 --flush zero read --rounds 6 --json "$OUT/r/multi.json" \
    > "$OUT/r/multi.log" 2>&1
log "multi hd64 rc=$? $(el)"; grep -vE "^\{\"round" "$OUT/r/multi.log" | tail -16 | tee -a "$OUT/main.log"
tar -cJf "$OUT/call14.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
