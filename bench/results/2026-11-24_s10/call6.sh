#!/bin/bash
# Session 10 call 6 (device): hd64 causal, base x thr8 (the kept running max), three more processes (NOTES-prefill 28).
#   carry [".kit", ".snapf"]; source .kit/unpack.sh .kit >/dev/null && S=.snapf bash .snapf/bench/results/2026-11-24_s10/call6.sh
set -u
cd "${S:-.snapf}"
export PYTHONPATH=$PWD:$PYTHONPATH PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
for i in 1 2 3; do
  timeout 120 python3 -m bench.prefill_dense_ab --variant base=build/artifacts/sm_90a --variant thr8=build/h64/thr8 \
    --rounds 9 --timing rounds --cases 1x16384:64:causal,4x4096:64:causal \
    --json "$OUT/ab$i.json" > "$OUT/ab$i.log" 2>&1
  echo "ab $i rc=$?"; grep -E "^\|" "$OUT/ab$i.log" | tail -4
done
