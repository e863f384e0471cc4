#!/bin/bash
# Session 17 call 10 (device): call 9's hd64 causal A/B again without page 1 (the gather variant's hd64 causal output is
# not bitwise the dense kernel's in any build, so the A/B's check stopped there), pages 16 / 64, paired, two processes,
# with --rounding (first try without it: page 16 too is not the dense bits at hd64 causal, in the old build as well).
#   carry [".kit", ".snap17i", ".ab17d"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s17/call10.sh
set -u
R=$PWD; SNAP=.snap17i; source bench/call_env.sh
A=$R/.ab17d
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
for p in 1 2; do
  timeout 200 python3 -m bench.prefill_paged_ab --head-dim 64 --mask causal --variant old=$A/old --variant old2=$A/old2 \
      --variant new=$A/new --rounding --pages 16,64 --timing paired --rounds 5 --json "$OUT/r/h64c_p$p.json" > "$OUT/r/h64c_p$p.log" 2>&1
  log "hd64 causal process $p rc=$? $(el)"; grep -E "^(prefill|append|  page)|Error|error" "$OUT/r/h64c_p$p.log" | tee -a "$OUT/main.log"
done
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call10.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
