#!/bin/bash
# Session 15 call 2 (device): vote_max + 2 / 4 / 8 max chains on the dense tiles with rescale_threshold (hd128 192 x 80,
# hd64 192 x 112, hd256 128 x 64 / 128 x 80) against the default build, three bench.prefill_dense_ab processes.
#   carry [".kit", ".snap15", ".ab15"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s15/call2.sh
set -u
R=$PWD
A=$R/.ab15
cd .snap15
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
V="--variant base=$A/b0 --variant v2=$A/v2 --variant v4=$A/v4 --variant v8=$A/v8"
C=1x16384:128:causal,1x16384:128:full,1x8192:128:causal,1x16384:64:causal,1x16384:256:causal,16x1024:256:causal,1x16384:256:full
for p in 1 2 3; do
  timeout 170 python3 -m bench.prefill_dense_ab $V --rounds 6 --cases $C --json "$OUT/r/dense_p$p.json" > "$OUT/r/dense_p$p.log" 2>&1
  log "dense process $p rc=$? $(el)"; grep -E "^\|" "$OUT/r/dense_p$p.log" | tee -a "$OUT/main.log"
done
tar -cJf "$OUT/call2.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
