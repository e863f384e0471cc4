#!/bin/bash
# Session 21 call 3 (device): the third page-id sort (.snap21c): the sort tests and the decode GPU tests (the default plan
# sorts), the fuzz at one seed, bench.decode_sort_cost new3 (.snap21c) / new2 (.snap21b) / old (.snap20n).
#   carry [".kit", ".snap21c", ".snap21b", ".snap20n"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s21/call3.sh
set -u
R=$PWD; SNAP=.snap21c; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 150 python3 -m pytest -m gpu tests/test_gpu_decode.py -q -p no:cacheprovider > "$OUT/r/decode_tests.log" 2>&1
log "decode tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR|^E " "$OUT/r/decode_tests.log" | tail -8 | tee -a "$OUT/main.log"
timeout 150 python3 -m bench.decode_sort_cost --builds new3=$PWD/build/artifacts/sm_90a new2=$R/.snap21b/build/artifacts/sm_90a \
    old=$R/.snap20n/build/artifacts/sm_90a --json "$OUT/r/sort_cost.json" > "$OUT/r/sort_cost.log" 2>&1
log "sort cost rc=$? $(el)"; grep -E "^\||Error|error" "$OUT/r/sort_cost.log" | tee -a "$OUT/main.log"
CUTE_ATTN_FUZZ_SEED=2122 timeout 80 python3 -m pytest -m gpu tests/test_gpu_fuzz.py -q -rs --timeout=70 \
    -p no:cacheprovider > "$OUT/r/fuzz_2122.log" 2>&1
log "fuzz seed 2122 rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR|^E " "$OUT/r/fuzz_2122.log" | tail -8 | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call3.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
