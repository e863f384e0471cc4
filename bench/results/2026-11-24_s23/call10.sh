#!/bin/bash
# Session 23 call 10 (device): bench.prefill_paged (issue 5) in two fresh processes on the final tree (.snap23h): call 6's
# process had dense rounds from 0.40 to 0.51 ms at 4 x 4k (noisy), so two more readings.
#   carry [".kit", ".snap23h"]; source .kit/unpack.sh .kit >/dev/null && bash .snap23h/bench/results/2026-11-24_s23/call10.sh
set -u
R=$PWD; SNAP=.snap23h; source bench/call_env.sh
for i in 1 2; do
  timeout 45 python3 -m bench.prefill_paged --rounds 9 --json "$OUT/r/paged$i.json" > "$OUT/r/paged$i.log" 2>&1
  log "paged $i rc=$? $(el)"; grep -E "^\| (case|prefill|append)|Error" "$OUT/r/paged$i.log" | tee -a "$OUT/main.log"
done
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
