#!/bin/bash
# Session 13 call 9 (device): CUTE_ATTN_DECODE_PLAN_EVICT_LAST (branch s13-el): the decode GPU tests on the switched build,
# then bench/decode_multi_build.py main vs el (same plans and inputs, cuDNN per round pair), zero and read flush.
#   carry [".kit", ".snap9", ".ab13"]; source .kit/unpack.sh .kit >/dev/null && S=.snap9 bash .snap9/bench/results/2026-11-24_s13/call9.sh
set -u
AB=$PWD/.ab13
cd "${S:-.snap9}"
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$AB/el-full CUTE_ATTN_CACHE=$(mktemp -d)
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
timeout 200 python3 -m pytest -m gpu tests/test_gpu_decode.py -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "decode tests (el build) rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -8 | tee -a "$OUT/main.log"
timeout 300 python3 bench/decode_multi_build.py --builds main=$AB/tags el=$AB/el \
    --cases "1 x 32k" "16 x 16k" "8 x 32k" "64 x 4k" "128 x 1k" "skewed 1 x 32k + 63 x 512" --pages 16 1 --flush zero read --rounds 6 --rep-ms 60 \
    --budget-s 200 --json "$OUT/r/ab.json" > "$OUT/r/ab.log" 2>&1
log "ab rc=$? $(el)"; grep -vE "^\{" "$OUT/r/ab.log" | tail -50 | tee -a "$OUT/main.log"
tar -cJf "$OUT/call9.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
