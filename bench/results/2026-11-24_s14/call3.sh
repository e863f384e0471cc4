#!/bin/bash
# Session 14 call 3 (device): the final tree (.snap14c = the tree after the GATHER_SPREAD switch's removal: kernel
# sources = 7b59ed4's, with session 13's build .snap10, not stale) as a whole: every GPU test. (Call 2's test run
# used a tree with the switch's code, whose paged artifacts the loader refused as stale: 71 "not built" errors.)
#   carry [".kit", ".snap14c"]; source .kit/unpack.sh .kit >/dev/null && bash .snap14c/bench/results/2026-11-24_s14/call3.sh
set -u
cd .snap14c
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
timeout 200 python3 -m pytest -m gpu tests -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -8 | tee -a "$OUT/main.log"
timeout 90 python3 -m bench.prefill_paged --rounds 9 --json "$OUT/r/paged.json" > "$OUT/r/paged.log" 2>&1
log "paged rc=$? $(el)"; grep -E "^\| (prefill|append)" "$OUT/r/paged.log" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call3.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
