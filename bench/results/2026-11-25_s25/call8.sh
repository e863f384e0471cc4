#!/bin/bash
# Session 25 call 8 (device): hd64's eager one-item plans at 3 vs 4 stages (tagged builds .ab25h; NOTES-decode
# "Session 25"), then the graph / dyn decode GPU tests on this tree (the lag at hd64 now on).
#   carry [".kit", ".snap25f", ".ab25h"]; source .kit/unpack.sh .kit >/dev/null && bash .snap25f/bench/results/2026-11-25_s25/call8.sh
set -u
R=$PWD; SNAP=.snap25f; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
A=$R/.ab25h
timeout 150 python3 bench/decode_multi_build.py --head-dim 64 --builds m4=$A m3=$A --cases "16 x 16k" "1 x 32k" "8 x 32k" \
    --pages 16 1 --flush read --rounds 6 --json "$OUT/r/one.json" > "$OUT/r/one.txt" 2>&1
log "one-head rc=$? $(el)"; grep -vE '^\{' "$OUT/r/one.txt" | tail -14 | tee -a "$OUT/main.log"
timeout 120 python3 bench/decode_multi_build.py --head-dim 64 --builds m4=$A --plan-builds i4a=$A i4b=$A \
    --plans P4a=i4a:HEADS=4 P4b=i4b:HEADS=4 --cases "64 x 4k" --pages 16 1 --flush read --rounds 6 \
    --json "$OUT/r/h4.json" > "$OUT/r/h4.txt" 2>&1
log "H4 rc=$? $(el)"; grep -vE '^\{' "$OUT/r/h4.txt" | tail -10 | tee -a "$OUT/main.log"
timeout 120 python3 bench/decode_multi_build.py --head-dim 64 --builds m4=$A --plan-builds i8a=$A i8b=$A \
    --plans P8a=i8a:HEADS=8 P8b=i8b:HEADS=8 --cases "128 x 1k" --pages 16 1 --flush read --rounds 6 \
    --json "$OUT/r/h8.json" > "$OUT/r/h8.txt" 2>&1
log "H8 rc=$? $(el)"; grep -vE '^\{' "$OUT/r/h8.txt" | tail -10 | tee -a "$OUT/main.log"
timeout 150 python3 -m pytest -m gpu tests/test_gpu_decode.py tests/test_gpu_fuzz.py -k "graph or replay or fuzz or one_item or dyn" \
    -q -rfE --tb=short --timeout=200 -p no:cacheprovider > "$OUT/r/tests.txt" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.txt" | tail -12 | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
