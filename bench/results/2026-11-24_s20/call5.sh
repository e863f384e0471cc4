#!/bin/bash
# Session 20 call 5 (device): after the checker fix (prefill_helpers.assert_close_to_reference: empty batches), the fuzz
# file at the default seed and at seeds 5 / 7 / 8 (call 4's failures) and 11 / 12, and the dense prefill GPU tests (the
# helper's other users) (.snap20e; kernels unchanged since session 19).
#   carry [".kit", ".snap20e"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s20/call5.sh
set -u
R=$PWD; SNAP=.snap20e; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
for s in default 5 7 8 11 12; do
    if [ $s = default ]; then unset CUTE_ATTN_FUZZ_SEED; else export CUTE_ATTN_FUZZ_SEED=$s; fi
    timeout 150 python3 -m pytest -m gpu tests/test_gpu_fuzz.py -q -rs --timeout=140 -p no:cacheprovider \
        > "$OUT/r/fuzz_$s.log" 2>&1
    log "fuzz seed $s rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR|^E " "$OUT/r/fuzz_$s.log" | tail -8 | tee -a "$OUT/main.log"
done
unset CUTE_ATTN_FUZZ_SEED
timeout 200 python3 -m pytest -m gpu tests/test_gpu_prefill.py tests/test_gpu_prefill_split.py tests/test_gpu_prefill_cluster.py \
    -q -rs --timeout=150 -p no:cacheprovider > "$OUT/r/prefill_tests.log" 2>&1
log "prefill tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/prefill_tests.log" | tail -8 | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call5.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
