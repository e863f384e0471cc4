#!/bin/bash
# Session 18 call 1 (device): the tree with hd64 causal's paged short-request variant (.snap18a): every GPU test, then
# bench.prefill_paged --head-dim 64 --tiles auto,0 (the plan's choice and the forced 192 x 112 tile, x dense; rounds
# timing, 7 rounds) in two processes; NOTES-prefill-paged 47 has the prediction.
#   carry [".kit", ".snap18a"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s18/call1.sh
set -u
R=$PWD; SNAP=.snap18a; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 300 python3 -m pytest -m gpu tests -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
for p in 1 2; do
  timeout 120 python3 -m bench.prefill_paged --head-dim 64 --tiles auto,0 --rounds 7 --json "$OUT/r/hd64_p$p.json" \
    > "$OUT/r/hd64_p$p.log" 2>&1
  log "hd64 process $p rc=$? $(el)"; grep -E "^\| (case|prefill|append)|kernel|tmabox" "$OUT/r/hd64_p$p.log" | tee -a "$OUT/main.log"
done
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call1.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
