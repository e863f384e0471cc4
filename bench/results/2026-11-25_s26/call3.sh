#!/bin/bash
# Session 26 call 3 (device): the issue tables again in fresh processes on .snap26b (the final tree): bench.decode eager
# and graph (read flush; issue 6), bench.prefill_paged (issue 5).
#   carry [".kit", ".snap26b"]; source .kit/unpack.sh .kit >/dev/null && bash .snap26b/bench/results/2026-11-25_s26/call3.sh
set -u
R=$PWD; SNAP=.snap26b; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 90 python3 -m bench.decode --no-extras --flush read --json "$OUT/r/decode_read.json" > "$OUT/r/decode_read.txt" 2>&1
log "decode read rc=$? $(el)"; grep -E "^\|" "$OUT/r/decode_read.txt" | tail -14 | tee -a "$OUT/main.log"
timeout 90 python3 -m bench.decode --no-extras --flush read --graph --json "$OUT/r/decode_graph.json" > "$OUT/r/decode_graph.txt" 2>&1
log "decode graph rc=$? $(el)"; grep -E "^\|" "$OUT/r/decode_graph.txt" | tail -14 | tee -a "$OUT/main.log"
timeout 220 python3 -m bench.prefill_paged --json "$OUT/r/prefill_paged.json" > "$OUT/r/prefill_paged.txt" 2>&1
log "prefill_paged rc=$? $(el)"; grep -E "^\|" "$OUT/r/prefill_paged.txt" | tail -12 | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
