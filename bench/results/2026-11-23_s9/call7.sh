#!/bin/bash
# Session 9 call 7 (device): how much the last round of equal non-causal tiles costs (NEXT-SESSION lever 1). One build
# (the final kernels, .snap4); lengths whose tile counts fill the 132 CTAs' rounds to different degrees:
#   hd256 (128-row tiles, 8 heads): 16384 -> 1,024 tiles = 7.76 rounds; 16896 -> 1,056 = 8.00
#   hd128 (192-row tiles, 16 heads): 16384 -> 1,376 = 10.42; 15744 -> 1,312 = 9.94; 17280 -> 1,440 = 10.91
#   carry [".kit", ".snap4"]; source .kit/unpack.sh .kit >/dev/null && bash .snap4/bench/results/2026-11-23_s9/call7.sh
set -u
cd "${S:-.snap4}"
export PYTHONPATH=$PWD:$PYTHONPATH PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
for i in 1 2; do
  timeout 100 python3 -m bench.prefill_dense_ab --variant base=build/artifacts/sm_90a --rounds 5 --timing rounds \
    --cases 1x16384:256:full,1x16896:256:full,1x16384:128:full,1x15744:128:full,1x17280:128:full \
    --json "$OUT/tail$i.json" > "$OUT/tail$i.log" 2>&1
  echo "tail $i rc=$?"; tail -8 "$OUT/tail$i.log"
done
