#!/bin/bash
# Session 14 call 6 (device): the decode kernel at 3 KV stages (CUTE_ATTN_DECODE_STAGES=3): the decode GPU tests on the
# switched build of every decode variant (.ab14d/s3-full), then bench/decode_multi_build.py main vs s3, zero and read.
#   carry [".kit", ".snap14f", ".ab14d"]; source .kit/unpack.sh .kit >/dev/null && bash .snap14f/bench/results/2026-11-24_s14/call6.sh
set -u
AB=$PWD/.ab14d
cd .snap14f
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$AB/s3-full CUTE_ATTN_CACHE=$(mktemp -d)
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
timeout 150 python3 -m pytest -m gpu tests/test_gpu_decode.py -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "decode tests (3-stage build) rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -8 | tee -a "$OUT/main.log"
timeout 300 python3 bench/decode_multi_build.py --builds main=$AB/main s3=$AB/s3 \
    --cases "1 x 32k" "16 x 16k" "8 x 32k" "64 x 4k" "128 x 1k" --pages 16 1 --flush zero read --rounds 6 --rep-ms 60 \
    --budget-s 220 --json "$OUT/r/ab.json" > "$OUT/r/ab.log" 2>&1
log "ab rc=$? $(el)"; grep -vE "^\{" "$OUT/r/ab.log" | tail -30 | tee -a "$OUT/main.log"
tar -cJf "$OUT/call6.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
