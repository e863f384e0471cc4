#!/bin/bash
# Session 25 call 1 (device): graph mode's captured grid capped at 128 (bench/decode_graph_ab.py --caps 128; NOTES-decode
# "Session 25"), then bench.decode eager read flush (issue 6's table) on the same tree.
#   carry [".kit", ".snap25a"]; source .kit/unpack.sh .kit >/dev/null && bash .snap25a/bench/results/2026-11-25_s25/call1.sh
set -u
R=$PWD; SNAP=.snap25a; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 360 python3 -m bench.decode_graph_ab --caps 128 --rounds 4 --flush read \
    --labels eager g_replay g_replay_own eager_cap128 g_replay_cap128 \
    --cases "64 x 4k" "16 x 16k" "128 x 1k" "1 x 32k" "8 x 32k" "skewed 1 x 32k + 63 x 512" \
            "mixed 256 x 1..8192" "mixed 128 x 200..2000" "mixed 64 x 1..16384" \
    --json "$OUT/r/graph_cap.json" > "$OUT/r/graph_cap.log" 2>&1
log "graph cap rc=$? $(el)"; grep -vE '^\{' "$OUT/r/graph_cap.log" | tail -24 | tee -a "$OUT/main.log"
timeout 90 python3 -m bench.decode --no-extras --flush read --json "$OUT/r/decode_read.json" > "$OUT/r/decode_read.log" 2>&1
log "decode read rc=$? $(el)"; grep -E "^\||plan|run" "$OUT/r/decode_read.log" | tail -20 | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
