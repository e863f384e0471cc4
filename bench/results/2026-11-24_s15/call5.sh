#!/bin/bash
# Session 15 call 5 (device): the final tree b4e303b (.snap15h: vote_max + 8 chains on the two dense hd128 192-row rows):
# every GPU test, the paired dense A/B of the tree against the off build (.ab15/b0) once more, and bench.prefill
# (issue 4's table, rounds timing).
#   carry [".kit", ".snap15h", ".ab15"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s15/call5.sh
set -u
R=$PWD
A=$R/.ab15
cd .snap15h
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
timeout 280 python3 -m pytest -m gpu tests -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
timeout 100 python3 -m bench.prefill_dense_ab --variant off=$A/b0 --variant final=$CUTE_ATTN_ARTIFACTS --timing paired \
    --rounds 5 --cases 1x16384:128:full,1x16384:128:causal,1x8192:128:causal,1x16384:64:causal,4x4096:128:causal \
    --json "$OUT/r/paired.json" > "$OUT/r/paired.log" 2>&1
log "paired A/B rc=$? $(el)"; grep -E "^\|" "$OUT/r/paired.log" | tee -a "$OUT/main.log"
timeout 150 python3 -m bench.prefill --json "$OUT/r/prefill.json" > "$OUT/r/prefill.log" 2>&1
log "prefill rc=$? $(el)"; grep -E "^\|" "$OUT/r/prefill.log" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call5.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
