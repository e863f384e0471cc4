#!/bin/bash
# Session 18 call 8 (device): the paged and split GPU test files of the commit after ce5c198 (both tiles on an HND cache, the
# paged split's CUDA-graph replay) on .snap18e's build (kernels and package unchanged since ce5c198; the two test files
# copied in).
#   carry [".kit", ".snap18e"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s18/call8.sh
set -u
R=$PWD; SNAP=.snap18e; source bench/call_env.sh
timeout 200 python3 -m pytest -m gpu tests/test_gpu_prefill_paged.py tests/test_gpu_prefill_split.py -q -rs --timeout=120 \
    -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call8.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
