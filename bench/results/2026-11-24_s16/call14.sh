#!/bin/bash
# Session 16 call 14 (device): per-block traces of the tree's page-1 (gather) kernel and dense at 16 x 1k and 4 x 4k
# (hd128 causal; trace build .ab16/tr_base): is a tile's first gathered K block the exposed latency that call 13's
# halved gathers shortened (NOTES-prefill-paged 39)?
#   carry [".kit", ".snap16f", ".ab16"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s16/call14.sh
set -u
R=$PWD; SNAP=.snap16f; source bench/call_env.sh
A=$R/.ab16
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
for c in "16 1024" "4 4096"; do
  set -- $c
  timeout 200 python3 -m bench.prefill_paged_trace --trace-dir $A/tr_base --normal-dir $A/v_base --pages 1 --batch $1 --seqlen $2 \
      --json "$OUT/r/trace_${1}x$2.json" > "$OUT/r/trace_${1}x$2.log" 2>&1
  log "trace $1 x $2 rc=$? $(el)"; grep -A 40 "^median" "$OUT/r/trace_${1}x$2.log" | tee -a "$OUT/main.log"
done
tar -cJf "$OUT/call14.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
