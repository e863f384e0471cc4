#!/bin/bash
# Session 24 call 2 (device): where CUDA-graph mode's decode time goes (call 1: bench.decode --graph 0.8-1.8 % slower than
# the same kernel launched eagerly in the A/B): bench/decode_graph_ab.py, eager / graph launch / graph replay / the same at
# the plan's own grid / the eager plan on the graph variant, one process, read flush.
#   carry [".kit", ".snap24b"]; source .kit/unpack.sh .kit >/dev/null && bash .snap24b/bench/results/2026-11-25_s24/call2.sh
set -u
R=$PWD; SNAP=.snap24b; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 400 python3 -m bench.decode_graph_ab --rounds 4 --flush read --json "$OUT/r/gab.json" > "$OUT/r/gab.log" 2>&1
log "graph ab rc=$? $(el)"; cat "$OUT/r/gab.log" | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
