#!/bin/bash
# Session 20 call 10 (device): hd64 decode's pipeline depth: bench/decode_multi_build.py --head-dim 64 over tagged builds
# s4 (the table's 4 stages), s4b (control), s6, s3 (.ab20h) on 64 x 4k, 128 x 1k, 16 x 16k (.snap20h).
#   carry [".kit", ".snap20h", ".ab20h"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s20/call10.sh
set -u
R=$PWD; SNAP=.snap20h; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 330 python3 bench/decode_multi_build.py --head-dim 64 --builds s4=$R/.ab20h s4b=$R/.ab20h s6=$R/.ab20h s3=$R/.ab20h \
    --cases "64 x 4k" "128 x 1k" "16 x 16k" --pages 16 1 --flush zero read --rounds 4 --json "$OUT/r/multi.json" \
    > "$OUT/r/multi.log" 2>&1
log "multi hd64 rc=$? $(el)"; grep -vE "^\{\"round" "$OUT/r/multi.log" | tail -24 | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call10.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
