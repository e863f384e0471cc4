#!/bin/bash
# Session 18 call 5 (device): the paged kernel with split_kv (.snap18d): every GPU test; bench.prefill_paged --long
# --mask full --tiles auto,nosplit (paired, x dense) in two processes. NOTES-prefill-paged 50.
#   carry [".kit", ".snap18d"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s18/call5.sh
set -u
R=$PWD; SNAP=.snap18d; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 300 python3 -m pytest -m gpu tests -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
for p in 1 2; do
  timeout 150 python3 -m bench.prefill_paged --long --mask full --tiles auto,nosplit --timing paired --rounds 5 \
      --json "$OUT/r/long_full_p$p.json" > "$OUT/r/long_full_p$p.log" 2>&1
  log "long full process $p rc=$? $(el)"; grep -E "^\| (case|prefill|append)|kernel|tmabox|Error" "$OUT/r/long_full_p$p.log" | tee -a "$OUT/main.log"
done
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call5.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
