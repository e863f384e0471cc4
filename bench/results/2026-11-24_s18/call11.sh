#!/bin/bash
# Session 18 call 11 (device): the tree with hd64's short-tile gather on 4 max chains (.snap18g): the paged GPU tests;
# the 4 chains without the vote on hd64's 192 x 112 gather variant (.ab18w/c4) x base (base2 identical), page 1,
# paired, two processes; bench.prefill_paged --head-dim 64 (x dense) one process. NOTES-prefill-paged 52.
#   carry [".kit", ".snap18g", ".ab18w"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s18/call11.sh
set -u
R=$PWD; SNAP=.snap18g; source bench/call_env.sh
A=$R/.ab18w
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 200 python3 -m pytest -m gpu tests/test_gpu_prefill_paged.py -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "paged tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
for p in 1 2; do
  timeout 150 python3 -m bench.prefill_paged_ab --head-dim 64 --rounding --variant base=$A/base --variant base2=$A/base2 \
      --variant c4=$A/c4 --unchecked c4 --pages 1 --cases 0 --timing paired --rounds 5 --json "$OUT/r/c4_p$p.json" \
      > "$OUT/r/c4_p$p.log" 2>&1
  log "c4 process $p rc=$? $(el)"; grep -E "^(prefill|append|  page)|Error|error" "$OUT/r/c4_p$p.log" | tee -a "$OUT/main.log"
done
timeout 120 python3 -m bench.prefill_paged --head-dim 64 --rounds 7 --json "$OUT/r/hd64.json" > "$OUT/r/hd64.log" 2>&1
log "hd64 x dense rc=$? $(el)"; grep -E "^\| (case|prefill|append)|Error" "$OUT/r/hd64.log" | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call11.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
