#!/bin/bash
# Session 27 call 2 (device; call 1 again on the fixed pool build): the decode tail pool (CUTE_ATTN_DECODE_POOL; NOTES-decode "Session 27"): the pooled plans'
# GPU check, the one-process A/B at 1 x 32k (tagged bf16 hd128 3-stage builds in .ab27), then the decode GPU tests and the
# fuzz over .snap27c (decode variants built with the switch on) with pooled plans wherever the planner makes them.
#   carry [".kit", ".snap27c", ".ab27"]; source .kit/unpack.sh .kit >/dev/null && bash .snap27c/bench/results/2026-11-25_s27/call1.sh
set -u
R=$PWD; SNAP=.snap27c; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
A=$R/.ab27
CUTE_ATTN_POISON=1 timeout 200 python3 bench/decode_pool_check.py --build $A --label pl3 --json "$OUT/r/check.json" \
    > "$OUT/r/check.txt" 2>&1
log "pool check rc=$? $(el)"; tail -2 "$OUT/r/check.txt" | tee -a "$OUT/main.log"
timeout 200 python3 bench/decode_multi_build.py --builds m3=$A pl3=$A --plans p2=pl3:POOL=2 p1=pl3:POOL=1 \
    --cases "1 x 32k" --pages 16 1 --flush read --rounds 10 --json "$OUT/r/ab.json" > "$OUT/r/ab.txt" 2>&1
log "ab rc=$? $(el)"; grep -E '"check"' "$OUT/r/ab.txt" | tee -a "$OUT/main.log"; grep -vE '^\{' "$OUT/r/ab.txt" | tail -16 | tee -a "$OUT/main.log"
CUTE_ATTN_DECODE_POOL_TILES=2 timeout 200 python3 -m pytest -m gpu tests/test_gpu_decode.py tests/test_gpu_fuzz.py \
    -k "not mixed_item_heads and not switches_item_heads and not several_kv_heads" \
    -q -rfE --tb=short --timeout=200 -p no:cacheprovider > "$OUT/r/tests.txt" 2>&1
log "tests (POOL_TILES=2) rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.txt" | tail -12 | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
