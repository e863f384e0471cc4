#!/bin/bash
# Session 25 call 7 (device): the one-item lag at hd64 (graph mode, bf16 hd64; NOTES-decode "Session 25"), then
# bench.decode --graph and eager at hd64 (read flush).
#   carry [".kit", ".snap25e"]; source .kit/unpack.sh .kit >/dev/null && bash .snap25e/bench/results/2026-11-25_s25/call7.sh
set -u
R=$PWD; SNAP=.snap25e; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 200 python3 -m bench.decode_graph_ab --rounds 4 --flush read --head-dim 64 --lag-head-dims 64 128 \
    --labels eager g_replay g_replay_nolag \
    --cases "64 x 4k" "16 x 16k" "128 x 1k" "1 x 32k" "8 x 32k" "skewed 1 x 32k + 63 x 512" "mixed 256 x 1..8192" \
    --json "$OUT/r/graph_lag64.json" > "$OUT/r/graph_lag64.txt" 2>&1
log "graph lag hd64 rc=$? $(el)"; grep -vE '^\{' "$OUT/r/graph_lag64.txt" | tail -16 | tee -a "$OUT/main.log"
grep -E '"max_diff_vs_eager"' "$OUT/r/graph_lag64.txt" | python3 -c "
import sys, json
for line in sys.stdin:
    d = json.loads(line); print(d['graph_lag'], {k: v for k, v in d['max_diff_vs_eager'].items() if v})" | tee -a "$OUT/main.log"
timeout 100 python3 -m bench.decode --no-extras --flush read --graph --head-dim 64 --json "$OUT/r/decode_graph64.json" > "$OUT/r/decode_graph64.txt" 2>&1
log "decode graph hd64 rc=$? $(el)"; grep -E "^\|" "$OUT/r/decode_graph64.txt" | tail -14 | tee -a "$OUT/main.log"
timeout 100 python3 -m bench.decode --no-extras --flush read --head-dim 64 --json "$OUT/r/decode_eager64.json" > "$OUT/r/decode_eager64.txt" 2>&1
log "decode eager hd64 rc=$? $(el)"; grep -E "^\|" "$OUT/r/decode_eager64.txt" | tail -14 | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
