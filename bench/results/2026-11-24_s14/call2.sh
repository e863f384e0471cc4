#!/bin/bash
# Session 14 call 2 (device): page 1's gather fills spread over the block (CUTE_ATTN_PAGED_GATHER_SPREAD=100 / 250 ns,
# builds .ab14/s100, .ab14/s250) against the session-13 build (.snap10: the same paged kernel source as the tree with
# the switch off), three bench.prefill_paged_ab processes, page 1; then the final tree (.snap14b = a025d8b with .snap10's
# build: kernel sources the same but for the switch, off) as a whole: every GPU test and bench.decode zero + read flush.
#   carry [".kit", ".snap14b", ".snap10", ".ab14"]; source .kit/unpack.sh .kit >/dev/null && bash .snap14b/bench/results/2026-11-24_s14/call2.sh
set -u
R=$PWD
cd .snap14b
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$R/.snap10/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
for p in 1 2 3; do
  timeout 100 python3 -m bench.prefill_paged_ab --variant old=$R/.snap10/build/artifacts/sm_90a \
      --variant s100=$R/.ab14/s100 --variant s250=$R/.ab14/s250 --pages 1 --rounds 7 \
      --json "$OUT/r/ab_p$p.json" > "$OUT/r/ab_p$p.log" 2>&1
  log "ab process $p rc=$? $(el)"; grep -vE '^\{' "$OUT/r/ab_p$p.log" | grep -E "^  page|dense" | tee -a "$OUT/main.log"
done
export CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
timeout 200 python3 -m pytest -m gpu tests -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -8 | tee -a "$OUT/main.log"
for f in zero read; do
  timeout 100 python3 -m bench.decode --no-extras --flush $f --json "$OUT/r/decode_$f.json" > "$OUT/r/decode_$f.log" 2>&1
  log "decode $f rc=$? $(el)"; grep -E "^\|" "$OUT/r/decode_$f.log" | tee -a "$OUT/main.log"
done
tar -cJf "$OUT/call2.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
