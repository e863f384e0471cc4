#!/bin/bash
# Session 15 call 7 (device): the final tree 14371a0 (.snap15i: call 6's vote + 4 chains on the paged hd128 causal
# gather variant, besides call 5's dense rows): every GPU test, the paged paired A/B of the tree against the off
# build (.ab15p/b0) once more, bench.prefill_paged (issue 5's table, rounds timing).
#   carry [".kit", ".snap15i", ".ab15p"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s15/call7.sh
set -u
R=$PWD
A=$R/.ab15p
cd .snap15i
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
timeout 280 python3 -m pytest -m gpu tests -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
timeout 120 python3 -m bench.prefill_paged_ab --variant off=$A/b0 --variant final=$CUTE_ATTN_ARTIFACTS --pages 1,16,64 \
    --timing paired --rounds 5 --json "$OUT/r/paged_paired.json" > "$OUT/r/paged_paired.log" 2>&1
log "paged paired rc=$? $(el)"; grep -E "^(prefill|append|  page)" "$OUT/r/paged_paired.log" | tee -a "$OUT/main.log"
for p in 1 2; do
  timeout 100 python3 -m bench.prefill_paged --rounds 9 --json "$OUT/r/paged$p.json" > "$OUT/r/paged$p.log" 2>&1
  log "paged $p rc=$? $(el)"; grep -E "^\| (prefill|append)" "$OUT/r/paged$p.log" | tee -a "$OUT/main.log"
done
tar -cJf "$OUT/call7.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
