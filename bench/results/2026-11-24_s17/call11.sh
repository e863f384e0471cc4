#!/bin/bash
# Session 17 call 11 (device): hd64 causal paged with the dense kernel's softmax row (NOTES-prefill-paged 46):
# A = skip_rescale + rescale_threshold 8, B = A + q_rs, C = q_rs alone (CUTE_ATTN_PREFILL_SET builds of the hd64 causal
# paged variants), against the tree and an identical copy; pages 1 / 16, paired, two processes. A, B, C are timed
# unchecked (their bits differ from the tree's by design; their max |paged - dense| is printed).
#   carry [".kit", ".snap17i", ".ab17e"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s17/call11.sh
set -u
R=$PWD; SNAP=.snap17i; source bench/call_env.sh
A=$R/.ab17e
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
for p in 1 2; do
  timeout 200 python3 -m bench.prefill_paged_ab --head-dim 64 --mask causal --rounding --variant base=$A/base \
      --variant base2=$A/base2 --variant A=$A/A --variant B=$A/B --variant C=$A/C --unchecked A --unchecked B --unchecked C \
      --pages 1,16 --timing paired --rounds 5 --json "$OUT/r/h64cfg_p$p.json" > "$OUT/r/h64cfg_p$p.log" 2>&1
  log "hd64 causal cfg process $p rc=$? $(el)"; grep -E "^(prefill|append|  page)|UNCHECKED|Error|error" "$OUT/r/h64cfg_p$p.log" | tee -a "$OUT/main.log"
done
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call11.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
