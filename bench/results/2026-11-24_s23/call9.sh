#!/bin/bash
# Session 23 call 9 (device): bench.decode read flush (no extras) twice in fresh processes on the final tree (.snap23h),
# to see whether call 8's page-1 ratios (0.995x at 64 x 4k and 16 x 16k) repeat.
#   carry [".kit", ".snap23h"]; source .kit/unpack.sh .kit >/dev/null && bash .snap23h/bench/results/2026-11-24_s23/call9.sh
set -u
R=$PWD; SNAP=.snap23h; source bench/call_env.sh
for i in 1 2; do
  timeout 75 python3 -m bench.decode --no-extras --flush read --json "$OUT/r/decode_read$i.json" > "$OUT/r/decode_read$i.log" 2>&1
  log "decode read $i rc=$? $(el)"; grep -E "^\||device copy" "$OUT/r/decode_read$i.log" | tee -a "$OUT/main.log"
done
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
