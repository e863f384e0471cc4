#!/bin/bash
# Session 18 call 13 (device): the max-chain count of the 128 x 128 gather variants (NOTES-prefill-paged 54):
# bench.prefill_paged_ab --pages 1, paired, two processes each, hd128 (c8, c2) and hd64 (c8, cases 1, 2).
#   carry [".kit", ".snap18g", ".ab18y"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s18/call13.sh
set -u
R=$PWD; SNAP=.snap18g; source bench/call_env.sh
A=$R/.ab18y
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
for p in 1 2; do
  timeout 150 python3 -m bench.prefill_paged_ab --variant base=$A/base --variant base2=$A/base2 --variant c8=$A/c8 \
      --variant c2=$A/c2 --unchecked c8 --unchecked c2 --pages 1 --timing paired --rounds 5 --json "$OUT/r/h128_p$p.json" \
      > "$OUT/r/h128_p$p.log" 2>&1
  log "hd128 process $p rc=$? $(el)"; grep -E "^(prefill|append|  page)|Error|error" "$OUT/r/h128_p$p.log" | tee -a "$OUT/main.log"
  timeout 150 python3 -m bench.prefill_paged_ab --head-dim 64 --rounding --variant base=$A/base --variant base2=$A/base2 \
      --variant c8=$A/c8 --unchecked c8 --cases 1,2 --pages 1 --timing paired --rounds 5 --json "$OUT/r/h64_p$p.json" \
      > "$OUT/r/h64_p$p.log" 2>&1
  log "hd64 process $p rc=$? $(el)"; grep -E "^(prefill|append|  page)|Error|error" "$OUT/r/h64_p$p.log" | tee -a "$OUT/main.log"
done
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call13.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
