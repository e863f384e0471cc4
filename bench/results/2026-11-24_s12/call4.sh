#!/bin/bash
# Session 12 call 4 (device): the final tree: every GPU test, two bench.prefill_paged processes (9 rounds),
# bench.decode with the zero flush (the tables' method) and with the read flush (clean L2 lines), bench.prefill.
#   carry [".kit", ".snap5"]; source .kit/unpack.sh .kit >/dev/null && S=.snap5 bash bench/results/2026-11-24_s12/call4.sh
set -u
cd "${S:-.snap5}"
export PYTHONPATH=$PWD:$PYTHONPATH PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
log "planner: $(python3 -c "import importlib; print(importlib.import_module('cute_attn.prefill').planner())" 2>&1 | tail -1)"
timeout 240 python3 -m pytest -m gpu tests -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -8 | tee -a "$OUT/main.log"
for i in 1 2; do
  timeout 110 python3 -m bench.prefill_paged --rounds 9 --json "$OUT/r/paged$i.json" > "$OUT/r/paged$i.log" 2>&1
  log "paged $i rc=$? $(el)"; grep -E "^\| (prefill|append)" "$OUT/r/paged$i.log" | tee -a "$OUT/main.log"
done
for f in zero read; do
  timeout 100 python3 -m bench.decode --no-extras --flush $f --json "$OUT/r/decode_$f.json" > "$OUT/r/decode_$f.log" 2>&1
  log "decode $f rc=$? $(el)"; grep -E "^\|" "$OUT/r/decode_$f.log" | tee -a "$OUT/main.log"
done
if [ $(( $(date +%s) - T0 )) -lt 440 ]; then
  timeout 130 python3 -m bench.prefill --json "$OUT/r/prefill.json" > "$OUT/r/prefill.log" 2>&1
  log "prefill rc=$? $(el)"; grep -E "^\| (hd|ragged)" "$OUT/r/prefill.log" >> "$OUT/main.log"
fi
tar -cJf "$OUT/call4.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
