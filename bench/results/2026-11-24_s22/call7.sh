#!/bin/bash
# Session 22 call 7 (device): FIRST_IDS. The decode GPU tests on the snapshot's build (decode variants built with
# CUTE_ATTN_DECODE_FIRST_IDS=1) and on .abd22 (the same source, switch off); then decode_multi_build: main / fi / main2
# (4-stage) on the multi-item cases, m3 / f3 on the one-item cases (3-stage variant), m64 / f64 at hd64 (.ab22f).
#   carry [".kit", ".snap22g", ".abd22", ".ab22f"]; source .kit/unpack.sh .kit >/dev/null && bash .snap22g/bench/results/2026-11-24_s22/call7.sh
set -u
R=$PWD; SNAP=.snap22g; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 200 python3 -m pytest -m gpu tests/test_gpu_decode.py tests/test_gpu_fuzz.py -q -p no:cacheprovider > "$OUT/r/tests_fi.log" 2>&1
log "tests (first ids) rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests_fi.log" | tail -8 | tee -a "$OUT/main.log"
CUTE_ATTN_ARTIFACTS=$R/.abd22 timeout 150 python3 -m pytest -m gpu tests/test_gpu_decode.py -q -p no:cacheprovider > "$OUT/r/tests_off.log" 2>&1
log "tests (switch off) rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests_off.log" | tail -8 | tee -a "$OUT/main.log"
timeout 200 python3 bench/decode_multi_build.py --builds main=$R/.ab22f fi=$R/.ab22f main2=$R/.ab22f \
    --cases "128 x 1k" "64 x 4k" "skewed 1 x 32k + 63 x 512" --pages 16 1 --flush read zero --rounds 6 \
    --budget-s 120 --json "$OUT/r/ab_multi.json" > "$OUT/r/ab_multi.log" 2>&1
log "ab multi rc=$? $(el)"; grep -vE "^\{\"round" "$OUT/r/ab_multi.log" | grep -v check | tail -14 | tee -a "$OUT/main.log"
grep check "$OUT/r/ab_multi.log" | grep -v "true, 0.0\], \"fi\": \[0.0, 0.0, true, 0.0\], \"main2\": \[0.0, 0.0, true, 0.0\]" | tee -a "$OUT/main.log"
timeout 200 python3 bench/decode_multi_build.py --builds m3=$R/.ab22f f3=$R/.ab22f \
    --cases "1 x 32k" "16 x 16k" "8 x 32k" --pages 16 1 --flush read zero --rounds 8 \
    --budget-s 120 --json "$OUT/r/ab_one.json" > "$OUT/r/ab_one.log" 2>&1
log "ab one-item rc=$? $(el)"; grep -vE "^\{\"round" "$OUT/r/ab_one.log" | grep -v check | tail -14 | tee -a "$OUT/main.log"
grep check "$OUT/r/ab_one.log" | grep -v "true, 0.0\], \"f3\": \[0.0, 0.0, true, 0.0\]" | tee -a "$OUT/main.log"
timeout 150 python3 bench/decode_multi_build.py --head-dim 64 --builds m64=$R/.ab22f f64=$R/.ab22f \
    --cases "128 x 1k" "64 x 4k" "1 x 32k" --pages 16 1 --flush read zero --rounds 6 --budget-s 90 \
    --json "$OUT/r/ab64.json" > "$OUT/r/ab64.log" 2>&1
log "ab64 rc=$? $(el)"; grep -vE "^\{\"round" "$OUT/r/ab64.log" | grep -v check | tail -12 | tee -a "$OUT/main.log"
grep check "$OUT/r/ab64.log" | grep -v "true, 0.0\], \"f64\": \[0.0, 0.0, true, 0.0\]" | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
