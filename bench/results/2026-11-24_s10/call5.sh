#!/bin/bash
# Session 10 call 5 (device): hd64 causal 16k, the one issue-4 target still short (call 4: 1.115-1.139x, median 1.118):
# three tile/softmax variants of the dense hd64 causal kernel against the shipped one, same process, 9 rounds.
#   n96: tile 192 x 96 (ptxas clean; 192 x 128 serializes wgmma); thr8: the kept running max (rescale_threshold 8 +
#   skip_rescale, session 9 measured 0.97-1.00 on hd64); thr8n96: both. Builds in build/h64/<name> (bf16 only).
#   carry [".kit", ".snapf"]; source .kit/unpack.sh .kit >/dev/null && S=.snapf bash .snapf/bench/results/2026-11-24_s10/call5.sh
set -u
cd "${S:-.snapf}"
export PYTHONPATH=$PWD:$PYTHONPATH PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
for i in 1 2; do
  timeout 150 python3 -m bench.prefill_dense_ab --variant base=build/artifacts/sm_90a --variant n96=build/h64/n96 \
    --variant thr8=build/h64/thr8 --variant thr8n96=build/h64/thr8n96 --rounds 9 --timing rounds \
    --cases 1x16384:64:causal,4x4096:64:causal --json "$OUT/ab$i.json" > "$OUT/ab$i.log" 2>&1
  echo "ab $i rc=$?"; grep -E "^\||causal" "$OUT/ab$i.log" | tail -8
done
