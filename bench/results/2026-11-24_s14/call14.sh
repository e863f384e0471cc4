#!/bin/bash
# Session 14 call 14 (device): the refactored benches run once (decode_multi_build's cuDNN timing and summary as
# functions, used by decode_wide_grid too): decode_multi_build main / s3 on 1 x 32k, decode_wide_grid on 128 x 1k, 1 round.
#   carry [".kit", ".snap14l", ".ab14c"]; source .kit/unpack.sh .kit >/dev/null && bash .snap14l/bench/results/2026-11-24_s14/call14.sh
set -u
AB=$PWD/.ab14c
cd .snap14l
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}
timeout 120 python3 bench/decode_multi_build.py --builds main=$AB/main s3=$AB/s3 --cases "1 x 32k" --pages 16 \
    --flush read --rounds 1 --rep-ms 40 > "$OUT/ab.log" 2>&1
echo "multi_build rc=$?" | tee "$OUT/main.log"; grep -vE '^\{"round"' "$OUT/ab.log" | tail -6 | tee -a "$OUT/main.log"
timeout 120 python3 -m bench.decode_wide_grid --cases "128 x 1k" --pages 16 --flush read --rounds 1 --rep-ms 40 > "$OUT/wide.log" 2>&1
echo "wide_grid rc=$?" | tee -a "$OUT/main.log"; grep -vE '^\{"round"' "$OUT/wide.log" | tail -6 | tee -a "$OUT/main.log"
