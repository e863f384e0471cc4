#!/bin/bash
# Session 25 call 12 (device): the final kernels (.snap25h, decode PTX = HEAD's): bench.decode --graph at hd64 (the lag
# and 3-stage variants), then bench.decode at hd128 under the zero flush (issue 6's zero-flush row, last measured in
# session 23).
#   carry [".kit", ".snap25h"]; source .kit/unpack.sh .kit >/dev/null && bash .snap25h/bench/results/2026-11-25_s25/call12.sh
set -u
R=$PWD; SNAP=.snap25h; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 110 python3 -m bench.decode --no-extras --flush read --graph --head-dim 64 --json "$OUT/r/graph64.json" > "$OUT/r/graph64.txt" 2>&1
log "graph hd64 rc=$? $(el)"; grep -E "^\|" "$OUT/r/graph64.txt" | tail -14 | tee -a "$OUT/main.log"
timeout 110 python3 -m bench.decode --no-extras --flush zero --json "$OUT/r/zero.json" > "$OUT/r/zero.txt" 2>&1
log "decode zero rc=$? $(el)"; grep -E "^\|" "$OUT/r/zero.txt" | tail -14 | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
