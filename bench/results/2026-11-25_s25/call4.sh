#!/bin/bash
# Session 25 call 4 (device): the one-item lag (GRAPH_ONE_ITEM_LAG; NOTES-decode "Session 25") in graph mode against the
# previous dyn kernel (.ab25/dyn4) and its 3-stage build (.ab25/dyn3), then the graph / dyn / fuzz decode GPU tests.
#   carry [".kit", ".snap25c", ".ab25"]; source .kit/unpack.sh .kit >/dev/null && bash .snap25c/bench/results/2026-11-25_s25/call4.sh
set -u
R=$PWD; SNAP=.snap25c; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 300 python3 -m bench.decode_graph_ab --rounds 4 --flush read \
    --graph-builds dyn4=$R/.ab25/decode_bf16_headdim128_dynheads_sm90a__dyn4.so \
                   dyn3=$R/.ab25/decode_bf16_headdim128_stages3_dynheads_sm90a__dyn3.so \
    --labels eager g_replay g_replay_nolag g_replay_dyn4 g_replay_dyn3 \
    --cases "64 x 4k" "16 x 16k" "128 x 1k" "1 x 32k" "8 x 32k" "skewed 1 x 32k + 63 x 512" \
            "mixed 256 x 1..8192" "mixed 128 x 200..2000" "mixed 64 x 1..16384" \
    --json "$OUT/r/graph_lag.json" > "$OUT/r/graph_lag.log" 2>&1
log "graph lag rc=$? $(el)"; grep -vE '^\{' "$OUT/r/graph_lag.log" | tail -24 | tee -a "$OUT/main.log"
grep -E '"max_diff_vs_eager"' "$OUT/r/graph_lag.log" | python3 -c "
import sys, json
for line in sys.stdin:
    d = json.loads(line); print(d['graph_lag'], {k: v for k, v in d['max_diff_vs_eager'].items() if v})" | tee -a "$OUT/main.log"
timeout 240 python3 -m pytest -m gpu tests/test_gpu_decode.py tests/test_gpu_fuzz.py -k "graph or replay or fuzz or one_item or dyn" \
    -q -rfE --tb=short --timeout=200 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
