#!/bin/bash
# Session 20 call 8 (device): the fuzz file with the serving-loop test (append + paged prefill + decode steps, eager or
# one CUDA-graph capture) at the default seed and at seeds 7, 13, 14; then every GPU test once more
# (.snap20f; kernels unchanged since session 19).
#   carry [".kit", ".snap20f"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s20/call8.sh
set -u
R=$PWD; SNAP=.snap20f; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
for s in default 7 13 14; do
    if [ $s = default ]; then unset CUTE_ATTN_FUZZ_SEED; else export CUTE_ATTN_FUZZ_SEED=$s; fi
    timeout 150 python3 -m pytest -m gpu tests/test_gpu_fuzz.py -q -rs --timeout=140 -p no:cacheprovider \
        > "$OUT/r/fuzz_$s.log" 2>&1
    log "fuzz seed $s rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR|^E " "$OUT/r/fuzz_$s.log" | tail -8 | tee -a "$OUT/main.log"
done
unset CUTE_ATTN_FUZZ_SEED
timeout 330 python3 -m pytest -m gpu tests -q -rs --timeout=200 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call8.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
