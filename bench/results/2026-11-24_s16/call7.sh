#!/bin/bash
# Session 16 call 7 (device): bench.prefill_paged (issue 5's table, rounds timing) in two more processes on the final
# tree (.snap16f), for the closing figures beside call 5's. (Call 7's first run read dense at 289 TFLOP/s, half of
# call 5's: the GPU's clocks and throttle reasons are now logged before and after.)
#   carry [".kit", ".snap16f"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s16/call7.sh
set -u
R=$PWD; SNAP=.snap16f; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE,CLOCK | grep -vE "^$" | head -40 | tee -a "$OUT/main.log"
nvidia-smi --query-compute-apps=pid,process_name,used_memory --format=csv | tee -a "$OUT/main.log"
for p in 1 2; do
  timeout 100 python3 -m bench.prefill_paged --rounds 9 --json "$OUT/r/paged_p$p.json" > "$OUT/r/paged_p$p.log" 2>&1
  log "paged process $p rc=$? $(el)"; grep -E "^\| (prefill|append)" "$OUT/r/paged_p$p.log" | tee -a "$OUT/main.log"
done
nvidia-smi -q -d PERFORMANCE | grep -vE "^$" | head -30 | tee -a "$OUT/main.log"
tar -cJf "$OUT/call7.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
