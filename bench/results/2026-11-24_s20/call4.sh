#!/bin/bash
# Session 20 call 4 (device): the fuzz file with its CUDA-graph and dense tests (.snap20d; kernels unchanged since session 19), at
# the default seed and at seven other seeds.
#   carry [".kit", ".snap20d"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s20/call4.sh
set -u
R=$PWD; SNAP=.snap20d; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
for s in default 7 31337 99 2024 5 6 8; do
    if [ $s = default ]; then unset CUTE_ATTN_FUZZ_SEED; else export CUTE_ATTN_FUZZ_SEED=$s; fi
    timeout 150 python3 -m pytest -m gpu tests/test_gpu_fuzz.py -q -rs --timeout=140 -p no:cacheprovider --durations=5 \
        > "$OUT/r/fuzz_$s.log" 2>&1
    log "fuzz seed $s rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR|^E |s call" "$OUT/r/fuzz_$s.log" | tail -12 | tee -a "$OUT/main.log"
done
unset CUTE_ATTN_FUZZ_SEED
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call4.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
