#!/bin/bash
# Session 15 call 1 (device): the softmax switches of NOTES-prefill-paged 26 (vote_max, max_chains) against the base
# build, dense (bench.prefill_dense_ab) and paged (bench.prefill_paged_ab), two processes each. Builds: .ab15/<name>
# (hd128 bf16 prefill variants only, made with CUTE_ATTN_PREFILL_SET="hd128:..."); .snap15 = 91c0105 with its build
# (the switches off: the checkout's dense reference of the paged tool).
#   carry [".kit", ".snap15", ".ab15"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s15/call1.sh
set -u
R=$PWD
A=$R/.ab15
cd .snap15
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
V="--variant base=$A/b0 --variant vm=$A/vm --variant vm4=$A/vm4 --variant vm8=$A/vm8 --variant tr4=$A/tr4"
for p in 1 2; do
  timeout 120 python3 -m bench.prefill_dense_ab $V --rounds 7 \
      --cases 4x4096:128:causal,16x1024:128:causal,1x16384:128:causal,1x16384:128:full \
      --json "$OUT/r/dense_p$p.json" > "$OUT/r/dense_p$p.log" 2>&1
  log "dense process $p rc=$? $(el)"; grep -vE '^\{' "$OUT/r/dense_p$p.log" | tail -14 | tee -a "$OUT/main.log"
done
for p in 1 2; do
  timeout 150 python3 -m bench.prefill_paged_ab $V --dense-variant vm=$A/dvm --dense-variant vm4=$A/dvm4 --rounds 7 \
      --json "$OUT/r/paged_p$p.json" > "$OUT/r/paged_p$p.log" 2>&1
  log "paged process $p rc=$? $(el)"; grep -vE '^\{' "$OUT/r/paged_p$p.log" | grep -vE "^\|" | tail -40 | tee -a "$OUT/main.log"
done
tar -cJf "$OUT/call1.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
