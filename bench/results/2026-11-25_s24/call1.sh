#!/bin/bash
# Session 24 call 1 (device): CUDA-graph mode on the run-time-H kernel (.snap24a = 3f61729): the decode GPU tests and fuzz;
# the A/B main / dyn / main2 (control) on one-head plans and G (dyn, items of up to 8 heads) (.ab24); bench.decode --graph
# and bench.decode (eager), read flush, no extras. Predictions: bench/NOTES-decode.md "Session 24".
#   carry [".kit", ".snap24a", ".ab24"]; source .kit/unpack.sh .kit >/dev/null && bash .snap24a/bench/results/2026-11-25_s24/call1.sh
set -u
R=$PWD; SNAP=.snap24a; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 250 python3 -m pytest -m gpu tests/test_gpu_decode.py tests/test_gpu_fuzz.py -q -rs --timeout=200 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
timeout 200 python3 bench/decode_multi_build.py --builds main=$R/.ab24 dyn=$R/.ab24 main2=$R/.ab24 --plans G=dyn:HEADS=8 \
    --cases "64 x 4k" "128 x 1k" "16 x 16k" "1 x 32k" "8 x 32k" "skewed 1 x 32k + 63 x 512" --pages 16 1 --flush read \
    --rounds 5 --budget-s 140 --json "$OUT/r/ab.json" > "$OUT/r/ab.log" 2>&1
log "ab rc=$? $(el)"; grep -vE "^\{\"round" "$OUT/r/ab.log" | grep -v cudnn | grep -v '"plan"' | tail -24 | tee -a "$OUT/main.log"
timeout 90 python3 -m bench.decode --graph --flush read --no-extras --json "$OUT/r/graph.json" > "$OUT/r/graph.log" 2>&1
log "graph bench rc=$? $(el)"; tail -16 "$OUT/r/graph.log" | tee -a "$OUT/main.log"
timeout 90 python3 -m bench.decode --flush read --no-extras --json "$OUT/r/eager.json" > "$OUT/r/eager.log" 2>&1
log "eager bench rc=$? $(el)"; tail -16 "$OUT/r/eager.log" | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
