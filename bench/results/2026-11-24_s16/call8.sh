#!/bin/bash
# Session 16 call 8 (device): the box producer's warps split by tensor (CUTE_ATTN_PAGED_BOX_SPLIT=kv: page 64 one warp for
# K, one for V, each with the dense kernel's acquire; page 16 two + two) against the tree (base2) and an identical-kernel
# control (base3 = base2), pages 1 (unchanged), 16, 64, paired, two processes; the GPU's throttle counters logged
# (call 7 ran on a thermally throttled machine). NOTES-prefill-paged 36.
#   carry [".kit", ".snap16f", ".ab16"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s16/call8.sh
set -u
R=$PWD; SNAP=.snap16f; source bench/call_env.sh
A=$R/.ab16
thr() { nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown|Power Capping" | grep " us" | tr -s ' ' | tee -a "$OUT/main.log"; }
thr
for p in 1 2; do
  timeout 200 python3 -m bench.prefill_paged_ab --variant base2=$A/v_base2 --variant base3=$A/v_base2 --variant split=$A/v_split \
      --pages 1,16,64 --timing paired --rounds 5 --json "$OUT/r/split_p$p.json" > "$OUT/r/split_p$p.log" 2>&1
  log "split paired process $p rc=$? $(el)"; grep -E "^(prefill|append|  page)|Error|error" "$OUT/r/split_p$p.log" | tee -a "$OUT/main.log"
  thr
done
tar -cJf "$OUT/call8.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
