#!/bin/bash
# Session 16 call 13 (device): an upper bound for a 2-CTA gather exchange at page 1: the gather variant copying only the
# first 128-byte column block of every row (CUTE_ATTN_PAGED_GATHER_HALF=1; the other half zeroed once; WRONG RESULTS by
# construction, timed unchecked) against the tree and an identical copy, paired, two processes (NOTES-prefill-paged 39).
# Uses this commit's bench/prefill_paged_ab.py (--unchecked) over the .snap16f kernels.
#   carry [".kit", ".snap16f", ".ab16"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s16/call13.sh
set -u
R=$PWD; SNAP=.snap16f; source bench/call_env.sh
cp $R/bench/prefill_paged_ab.py bench/prefill_paged_ab.py
A=$R/.ab16
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
for p in 1 2; do
  timeout 200 python3 -m bench.prefill_paged_ab --variant base=$A/h_base --variant base2=$A/h_base2 --variant half=$A/h_half \
      --unchecked half --pages 1 --timing paired --rounds 5 --json "$OUT/r/half_p$p.json" > "$OUT/r/half_p$p.log" 2>&1
  log "half paired process $p rc=$? $(el)"; grep -E "^(prefill|append|  page)|UNCHECKED|Error|error" "$OUT/r/half_p$p.log" | tee -a "$OUT/main.log"
done
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call13.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
