#!/bin/bash
# Session 25 call 9 (device): the final tree (.snap25g: hd64's 3-stage one-item variants, the lag at hd64 and hd128):
# every decode GPU test and the fuzz (two pytest runs), then bench.decode eager at hd64 (read flush).
#   carry [".kit", ".snap25g"]; source .kit/unpack.sh .kit >/dev/null && bash .snap25g/bench/results/2026-11-25_s25/call9.sh
set -u
R=$PWD; SNAP=.snap25g; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 200 python3 -m pytest -m gpu tests/test_gpu_decode.py -k "mixed_item_heads or switches_item_heads or several_kv_heads" \
    -q -rfE --tb=short --timeout=200 -p no:cacheprovider > "$OUT/r/tests_items.txt" 2>&1
log "item tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests_items.txt" | tail -12 | tee -a "$OUT/main.log"
timeout 250 python3 -m pytest -m gpu tests/test_gpu_decode.py tests/test_gpu_fuzz.py \
    -k "not mixed_item_heads and not switches_item_heads and not several_kv_heads" \
    -q -rfE --tb=short --timeout=200 -p no:cacheprovider > "$OUT/r/tests.txt" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.txt" | tail -12 | tee -a "$OUT/main.log"
timeout 100 python3 -m bench.decode --no-extras --flush read --head-dim 64 --json "$OUT/r/decode_eager64.json" > "$OUT/r/decode_eager64.txt" 2>&1
log "decode eager hd64 rc=$? $(el)"; grep -E "^\|" "$OUT/r/decode_eager64.txt" | tail -14 | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
