#!/bin/bash
# Session 28 call 7 (device): issue 6's table once more in fresh processes on the final tree: bench.decode eager and
# under CUDA graphs (read flush), bench.decode_host (plan() for batch 256, run()'s host time).
#   carry [".kit", ".snap28f"]; source .kit/unpack.sh .kit >/dev/null && bash .snap28f/bench/results/2026-11-25_s28/call7.sh
set -u
R=$PWD; SNAP=.snap28f; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 80 python3 -m bench.decode --no-extras --flush read --json "$OUT/r/decode_read.json" > "$OUT/r/decode_read.txt" 2>&1
log "decode read rc=$? $(el)"; grep -E "^\|" "$OUT/r/decode_read.txt" | tail -14 | tee -a "$OUT/main.log"
timeout 90 python3 -m bench.decode --no-extras --flush read --graph --json "$OUT/r/decode_graph.json" > "$OUT/r/decode_graph.txt" 2>&1
log "decode graph rc=$? $(el)"; grep -E "^\|" "$OUT/r/decode_graph.txt" | tail -14 | tee -a "$OUT/main.log"
timeout 50 python3 -m bench.decode_host --json "$OUT/r/decode_host.json" > "$OUT/r/decode_host.txt" 2>&1
log "decode host rc=$? $(el)"; tail -12 "$OUT/r/decode_host.txt" | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
