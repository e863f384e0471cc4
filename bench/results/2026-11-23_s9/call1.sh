#!/bin/bash
# Session 9 call 1 (device): the whole suite on the new default (rescale_threshold=8), then the threshold A/B.
#   carry [".kit", ".snap"]; source .kit/unpack.sh .kit >/dev/null && bash .snap/bench/results/2026-11-23_s9/call1.sh
# .snap = bench/snapshot.sh of 92454a4 + `python3 -m cute_attn.build -j 2`; ab/thr0 and ab/skipall = the bf16 dense
# prefill variants built with CUTE_ATTN_PREFILL_SET=rescale_threshold=0 (HEAD~1's PTX) / skip_rescale=1.
set -u
cd "${S:-.snap}"
export PYTHONPATH=$PWD:$PYTHONPATH PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/suite"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
OUT=$OUT/suite bash bench/gpu_suite.sh all > "$OUT/suite.log" 2>&1; rc=$?
log "suite rc=$rc $(el)"
grep -E "passed|failed" "$OUT/suite/gpu_tests.log" | tail -2 | tee -a "$OUT/main.log"
grep -E "^\| (hd|ragged|prefill|append)" "$OUT/suite.log" | tee -a "$OUT/main.log" >/dev/null
CASES=1x16384:128:full,1x16384:128:causal,4x4096:128:causal,16x1024:128:causal,1x16384:64:causal,16x1024:64:causal,1x16384:256:full,1x16384:256:causal,16x1024:256:causal
for i in 1 2; do
  [ $(( $(date +%s) - T0 )) -gt 420 ] && break
  timeout 110 python3 -m bench.prefill_dense_ab --variant thr0=ab/thr0 --variant thr8=build/artifacts/sm_90a \
    --variant skipall=ab/skipall --rounds 5 --timing rounds --cases $CASES --json "$OUT/ab$i.json" > "$OUT/ab$i.log" 2>&1
  log "ab $i rc=$? $(el)"
  tail -14 "$OUT/ab$i.log" >> "$OUT/main.log"
done
for b in thr8:build/artifacts/sm_90a thr0:ab/thr0; do
  [ $(( $(date +%s) - T0 )) -gt 500 ] && break
  CUTE_ATTN_ARTIFACTS=$PWD/${b#*:} timeout 60 python3 -m bench.power_probe --secs 4 --cases 128:full,128:causal \
    --json "$OUT/power_${b%%:*}.json" > "$OUT/power_${b%%:*}.log" 2>&1
  log "power ${b%%:*} rc=$? $(el)"
  tail -8 "$OUT/power_${b%%:*}.log" >> "$OUT/main.log"
done
(cd "$OUT" && tar -cJf call1.tar.xz --exclude call1.tar.xz --exclude main.log . && find . -type f ! -name call1.tar.xz ! -name main.log -delete)
log "total $(el)"
cat "$OUT/main.log"
