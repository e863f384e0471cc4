#!/bin/bash
# Session 26 call 1 (device): split partials in the 16-bit dtype (CUTE_ATTN_DECODE_HALF_PARTIALS; NOTES-decode "Session
# 26"): one-process A/B of tagged bf16 hd128 builds (.ab26), then every decode GPU test and the fuzz on .snap26a, whose
# decode variants are all built with the switch on.
#   carry [".kit", ".snap26a", ".ab26"]; source .kit/unpack.sh .kit >/dev/null && bash .snap26a/bench/results/2026-11-25_s26/call1.sh
set -u
R=$PWD; SNAP=.snap26a; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
A=$R/.ab26
timeout 170 python3 bench/decode_multi_build.py --builds m3=$A m3b=$A hp3=$A --cases "1 x 32k" "8 x 32k" "16 x 16k" \
    --pages 16 1 --flush read --rounds 8 --json "$OUT/r/one.json" > "$OUT/r/one.txt" 2>&1
log "one-item rc=$? $(el)"; grep -vE '^\{' "$OUT/r/one.txt" | tail -16 | tee -a "$OUT/main.log"
timeout 80 python3 bench/decode_multi_build.py --builds m4=$A hp4=$A --cases "skewed 1 x 32k + 63 x 512" "64 x 4k" \
    --pages 16 1 --flush read --rounds 6 --json "$OUT/r/multi.json" > "$OUT/r/multi.txt" 2>&1
log "multi-item rc=$? $(el)"; grep -vE '^\{' "$OUT/r/multi.txt" | tail -10 | tee -a "$OUT/main.log"
timeout 120 python3 -m pytest -m gpu tests/test_gpu_decode.py -k "mixed_item_heads or switches_item_heads or several_kv_heads" \
    -q -rfE --tb=short --timeout=200 -p no:cacheprovider > "$OUT/r/tests_items.txt" 2>&1
log "item tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests_items.txt" | tail -12 | tee -a "$OUT/main.log"
timeout 190 python3 -m pytest -m gpu tests/test_gpu_decode.py tests/test_gpu_fuzz.py \
    -k "not mixed_item_heads and not switches_item_heads and not several_kv_heads" \
    -q -rfE --tb=short --timeout=200 -p no:cacheprovider > "$OUT/r/tests.txt" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.txt" | tail -12 | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
