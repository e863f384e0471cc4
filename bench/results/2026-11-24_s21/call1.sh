#!/bin/bash
# Session 21 call 1 (device): the tree with the new page-id sort (.snap21a): every GPU test, the fuzz at a new seed,
# bench.decode_sort_cost (the sort's GPU time, new vs session 20's kernel from .snap20n, against run()'s per-call gain
# from sorted pages; all six bench.decode cases, read flush).
#   carry [".kit", ".snap21a", ".snap20n"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s21/call1.sh
set -u
R=$PWD; SNAP=.snap21a; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 100 python3 -m pytest -m gpu tests/test_gpu_decode.py -q -k sort -p no:cacheprovider > "$OUT/r/sort_tests.log" 2>&1
log "sort tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR|^E " "$OUT/r/sort_tests.log" | tail -8 | tee -a "$OUT/main.log"
timeout 150 python3 -m bench.decode_sort_cost --builds new=$PWD/build/artifacts/sm_90a old=$R/.snap20n/build/artifacts/sm_90a \
    --json "$OUT/r/sort_cost.json" > "$OUT/r/sort_cost.log" 2>&1
log "sort cost rc=$? $(el)"; grep -E "^\||Error|error" "$OUT/r/sort_cost.log" | tee -a "$OUT/main.log"
timeout 330 python3 -m pytest -m gpu tests -q -rs --timeout=200 -p no:cacheprovider --durations=10 > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
CUTE_ATTN_FUZZ_SEED=2121 timeout 80 python3 -m pytest -m gpu tests/test_gpu_fuzz.py -q -rs --timeout=70 \
    -p no:cacheprovider > "$OUT/r/fuzz_2121.log" 2>&1
log "fuzz seed 2121 rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR|^E " "$OUT/r/fuzz_2121.log" | tail -8 | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call1.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
