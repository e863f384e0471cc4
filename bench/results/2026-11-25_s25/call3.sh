#!/bin/bash
# Session 25 call 3 (device): graph mode's captured variant at 3 stages (NOTES-decode "Session 25"; tagged builds
# .ab25/dyn4 = the shipped dynheads variant, .ab25/dyn3 = dyn_heads=1,stages=3), then bench.prefill_paged (issue 5).
#   carry [".kit", ".snap25b", ".ab25"]; source .kit/unpack.sh .kit >/dev/null && bash .snap25b/bench/results/2026-11-25_s25/call3.sh
set -u
R=$PWD; SNAP=.snap25b; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 300 python3 -m bench.decode_graph_ab --rounds 4 --flush read \
    --graph-builds dyn4=$R/.ab25/decode_bf16_headdim128_dynheads_sm90a__dyn4.so \
                   dyn3=$R/.ab25/decode_bf16_headdim128_stages3_dynheads_sm90a__dyn3.so \
    --labels eager g_replay g_replay_dyn4 g_replay_dyn3 \
    --cases "64 x 4k" "16 x 16k" "128 x 1k" "1 x 32k" "8 x 32k" "skewed 1 x 32k + 63 x 512" \
            "mixed 256 x 1..8192" "mixed 128 x 200..2000" "mixed 64 x 1..16384" \
    --json "$OUT/r/graph_stages.json" > "$OUT/r/graph_stages.log" 2>&1
log "graph stages rc=$? $(el)"; grep -vE '^\{' "$OUT/r/graph_stages.log" | tail -24 | tee -a "$OUT/main.log"
grep -E '"max_diff_vs_eager"' "$OUT/r/graph_stages.log" | python3 -c "
import sys, json
for line in sys.stdin:
    d = json.loads(line); print({k: v for k, v in d['max_diff_vs_eager'].items() if 'dyn' in k})" | tee -a "$OUT/main.log"
timeout 220 python3 -m bench.prefill_paged --json "$OUT/r/prefill_paged.json" > "$OUT/r/prefill_paged.log" 2>&1
log "prefill_paged rc=$? $(el)"; grep -E "^\|" "$OUT/r/prefill_paged.log" | tail -12 | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
