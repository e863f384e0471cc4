#!/bin/bash
# Session 24 call 5 (device): the mixed pass (items of H kv heads among others in mixed-length plans; .snap24d): decode GPU
# tests and fuzz; A/B main / dyn / main2 on one-head plans and M (dyn, mixed pass) on mixed batches (.ab24); bench.decode
# (eager, read flush, with extras: plan() / run() host time) and --graph (no extras).
#   carry [".kit", ".snap24d", ".ab24"]; source .kit/unpack.sh .kit >/dev/null && bash .snap24d/bench/results/2026-11-25_s24/call5.sh
set -u
R=$PWD; SNAP=.snap24d; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 250 python3 -m pytest -m gpu tests/test_gpu_decode.py tests/test_gpu_fuzz.py -q -rs --timeout=200 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
timeout 170 python3 bench/decode_multi_build.py --builds main=$R/.ab24 dyn=$R/.ab24 main2=$R/.ab24 --plans M=dyn:HEADS=8 \
    --cases "skewed 1 x 32k + 63 x 512" "mixed 256 x 1..8192" "mixed 128 x 200..2000" "mixed 64 x 1..16384" --pages 16 1 \
    --flush read --rounds 5 --budget-s 120 --json "$OUT/r/ab.json" > "$OUT/r/ab.log" 2>&1
log "ab rc=$? $(el)"; grep -vE "^\{\"round" "$OUT/r/ab.log" | grep -v cudnn | grep -v '"plan"' | tail -16 | tee -a "$OUT/main.log"
timeout 120 python3 -m bench.decode --flush read --json "$OUT/r/eager.json" > "$OUT/r/eager.log" 2>&1
log "eager bench rc=$? $(el)"; tail -40 "$OUT/r/eager.log" | tee -a "$OUT/main.log"
timeout 60 python3 -m bench.decode --graph --flush read --no-extras --json "$OUT/r/graph.json" > "$OUT/r/graph.log" 2>&1
log "graph bench rc=$? $(el)"; tail -16 "$OUT/r/graph.log" | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
