#!/bin/bash
# Session 28 call 6 (device): the GPU fuzz file (tests/test_gpu_fuzz.py: decode eager and CUDA-graph, paged and dense
# prefill, the serving loop; NaN-poisoned outputs against the float64 reference) on the final tree at eight seeds no
# session has run (the last multi-seed run was session 20's, before items of H heads, run-time H, the mixed pass and the
# one-item lag), two of them with 3x the cases; then the refactored bench.power_probe --paged once (a smoke run).
#   carry [".kit", ".snap28e"]; source .kit/unpack.sh .kit >/dev/null && bash .snap28e/bench/results/2026-11-25_s28/call6.sh
set -u
R=$PWD; SNAP=.snap28e; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
for sc in 2811:0 2812:0 2813:0 2814:0 2815:0 2816:0 2817:120 2818:120; do
    s=${sc%%:*}; c=${sc##*:}
    export CUTE_ATTN_FUZZ_SEED=$s
    if [ "$c" = 0 ]; then unset CUTE_ATTN_FUZZ_CASES; else export CUTE_ATTN_FUZZ_CASES=$c; fi
    timeout 200 python3 -m pytest -m gpu tests/test_gpu_fuzz.py -q -rs --timeout=190 -p no:cacheprovider --durations=3 \
        > "$OUT/r/fuzz_$s.log" 2>&1
    log "fuzz seed $s cases ${c/#0/default} rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR|^E  " "$OUT/r/fuzz_$s.log" | tail -8 | tee -a "$OUT/main.log"
done
unset CUTE_ATTN_FUZZ_SEED CUTE_ATTN_FUZZ_CASES
timeout 60 python3 -m bench.power_probe --paged "prefill 16x1k" --passes 1 --secs 2 --json "$OUT/r/power_smoke.json" > "$OUT/r/power_smoke.txt" 2>&1
log "power smoke rc=$? $(el)"; grep -E "^\|" "$OUT/r/power_smoke.txt" | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
