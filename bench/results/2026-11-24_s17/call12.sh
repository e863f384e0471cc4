#!/bin/bash
# Session 17 call 12 (device): the final tree (.snap17j): every GPU test, then bench.prefill_paged (issue 5, rounds
# timing, 9 rounds) in two processes.
#   carry [".kit", ".snap17j"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s17/call12.sh
set -u
R=$PWD; SNAP=.snap17j; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 280 python3 -m pytest -m gpu tests -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
for p in 1 2; do
  timeout 100 python3 -m bench.prefill_paged --rounds 9 --json "$OUT/r/paged_p$p.json" > "$OUT/r/paged_p$p.log" 2>&1
  log "paged process $p rc=$? $(el)"; grep -E "^\| (prefill|append)" "$OUT/r/paged_p$p.log" | tee -a "$OUT/main.log"
done
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call12.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
