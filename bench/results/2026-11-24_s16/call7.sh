#!/bin/bash
# Session 16 call 7 (device): bench.prefill_paged (issue 5's table, rounds timing) in two more processes on the final
# tree (.snap16f), for the closing figures beside call 5's.
#   carry [".kit", ".snap16f"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s16/call7.sh
set -u
R=$PWD; SNAP=.snap16f; source bench/call_env.sh
for p in 1 2; do
  timeout 100 python3 -m bench.prefill_paged --rounds 9 --json "$OUT/r/paged_p$p.json" > "$OUT/r/paged_p$p.log" 2>&1
  log "paged process $p rc=$? $(el)"; grep -E "^\| (prefill|append)" "$OUT/r/paged_p$p.log" | tee -a "$OUT/main.log"
done
tar -cJf "$OUT/call7.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
