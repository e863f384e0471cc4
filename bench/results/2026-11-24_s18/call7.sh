#!/bin/bash
# Session 18 call 7 (device): the other tile at every page size (NOTES-prefill-paged 51), final tree (.snap18e), paired:
# hd128 issue cases --tiles auto,0; hd64 causal issue cases --tiles auto,128; hd64 causal --long --tiles auto,128.
#   carry [".kit", ".snap18e"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s18/call7.sh
set -u
R=$PWD; SNAP=.snap18e; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
run() {  # name, args
  local n=$1; shift
  timeout 150 python3 -m bench.prefill_paged --timing paired --rounds 5 "$@" --json "$OUT/r/$n.json" > "$OUT/r/$n.log" 2>&1
  log "$n rc=$? $(el)"; grep -E "^\| (case|prefill|append)|Error" "$OUT/r/$n.log" | tee -a "$OUT/main.log"
}
run hd128_issue --tiles auto,0
run hd64_issue --head-dim 64 --tiles auto,128
run hd64_long --head-dim 64 --long --tiles auto,128
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call7.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
