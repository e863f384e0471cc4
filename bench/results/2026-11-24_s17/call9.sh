#!/bin/bash
# Session 17 call 9 (device): the tree with hd64's box variants on the grouped view (.snap17i): every GPU test; hd64
# paged A/B (old, old2 identical, new), pages 1 / 16 / 64, paired, causal and full, one process each
# (NOTES-prefill-paged 45); bench.prefill_paged (issue 5, rounds timing) in two processes.
#   carry [".kit", ".snap17i", ".ab17d"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s17/call9.sh
set -u
R=$PWD; SNAP=.snap17i; source bench/call_env.sh
A=$R/.ab17d
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 280 python3 -m pytest -m gpu tests -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
for mask in causal full; do
  timeout 200 python3 -m bench.prefill_paged_ab --head-dim 64 --mask $mask --variant old=$A/old --variant old2=$A/old2 \
      --variant new=$A/new --pages 1,16,64 --timing paired --rounds 5 --json "$OUT/r/h64_$mask.json" > "$OUT/r/h64_$mask.log" 2>&1
  log "hd64 $mask rc=$? $(el)"; grep -E "^(prefill|append|  page)|Error|error" "$OUT/r/h64_$mask.log" | tee -a "$OUT/main.log"
done
for p in 1 2; do
  timeout 100 python3 -m bench.prefill_paged --rounds 9 --json "$OUT/r/paged_p$p.json" > "$OUT/r/paged_p$p.log" 2>&1
  log "paged process $p rc=$? $(el)"; grep -E "^\| (prefill|append)" "$OUT/r/paged_p$p.log" | tee -a "$OUT/main.log"
done
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call9.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
