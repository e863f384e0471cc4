#!/bin/bash
# Session 25 call 5 (device): the final tree (.snap25d). The one-item lag A/B again in a second process (g_replay /
# nolag / the previous kernel .ab25/dyn4), then bench.decode eager and --graph (read flush) and bench.decode_host.
#   carry [".kit", ".snap25d", ".ab25"]; source .kit/unpack.sh .kit >/dev/null && bash .snap25d/bench/results/2026-11-25_s25/call5.sh
set -u
R=$PWD; SNAP=.snap25d; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 200 python3 -m bench.decode_graph_ab --rounds 4 --flush read \
    --graph-builds dyn4=$R/.ab25/decode_bf16_headdim128_dynheads_sm90a__dyn4.so \
    --labels eager g_replay g_replay_nolag g_replay_dyn4 \
    --cases "64 x 4k" "16 x 16k" "128 x 1k" "1 x 32k" "8 x 32k" "skewed 1 x 32k + 63 x 512" \
            "mixed 256 x 1..8192" "mixed 128 x 200..2000" "mixed 64 x 1..16384" \
    --json "$OUT/r/graph_lag2.json" > "$OUT/r/graph_lag2.log" 2>&1
log "graph lag rc=$? $(el)"; grep -vE '^\{' "$OUT/r/graph_lag2.log" | tail -20 | tee -a "$OUT/main.log"
timeout 100 python3 -m bench.decode --no-extras --flush read --json "$OUT/r/decode_read.json" > "$OUT/r/decode_read.log" 2>&1
log "decode read rc=$? $(el)"; grep -E "^\||plan|run" "$OUT/r/decode_read.log" | tail -20 | tee -a "$OUT/main.log"
timeout 100 python3 -m bench.decode --no-extras --flush read --graph --json "$OUT/r/decode_graph.json" > "$OUT/r/decode_graph.log" 2>&1
log "decode graph rc=$? $(el)"; grep -E "^\|" "$OUT/r/decode_graph.log" | tail -16 | tee -a "$OUT/main.log"
timeout 60 python3 -m bench.decode_host --json "$OUT/r/decode_host.json" > "$OUT/r/decode_host.log" 2>&1
log "decode host rc=$? $(el)"; tail -12 "$OUT/r/decode_host.log" | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
