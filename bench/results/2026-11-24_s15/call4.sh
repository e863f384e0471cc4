#!/bin/bash
# Session 15 call 4 (device): every GPU test on the final tree (call 3's run stopped at collection: a host test module
# imported the DSL), and the dense A/B of call 3 again in --timing paired (the fns alternate call by call at one shared
# clock: work per clock; call 3's rounds timing read identical kernels at 0.97-0.99). Builds: off = .ab15/b0 (all
# switches off), v8 = .ab15/v8 (vote + 8 chains on every hd64 / hd128 / hd256 tile with a threshold), shipped = the
# tree's build (v8's kernels on the three shipped rows: PTX identical; the other rows = off's).
#   carry [".kit", ".snap15g", ".ab15"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s15/call4.sh
set -u
R=$PWD
A=$R/.ab15
cd .snap15g
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
timeout 280 python3 -m pytest -m gpu tests -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
for p in 1 2; do
  timeout 120 python3 -m bench.prefill_dense_ab --variant off=$A/b0 --variant v8=$A/v8 --variant shipped=$CUTE_ATTN_ARTIFACTS \
      --timing paired --rounds 5 \
      --cases 1x16384:128:full,1x16384:64:causal,1x16384:256:full,1x16384:128:causal,1x16384:256:causal,4x4096:128:causal \
      --json "$OUT/r/paired_p$p.json" > "$OUT/r/paired_p$p.log" 2>&1
  log "paired A/B process $p rc=$? $(el)"; grep -E "^\|" "$OUT/r/paired_p$p.log" | tee -a "$OUT/main.log"
done
tar -cJf "$OUT/call4.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
