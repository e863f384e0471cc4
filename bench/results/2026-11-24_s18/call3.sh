#!/bin/bash
# Session 18 call 3 (device): hd128 paged with the dense kernel's two tiles (.snap18c): the paged GPU tests (both tiles
# forced, hd64 / hd128); bench.prefill_paged --long --tiles auto,128 (paired, x dense) causal in two processes, full in
# one; bench.prefill_paged (issue 5's cases, the plan's own choice) in one process. NOTES-prefill-paged 49.
#   carry [".kit", ".snap18c"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s18/call3.sh
set -u
R=$PWD; SNAP=.snap18c; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 200 python3 -m pytest -m gpu tests/test_gpu_prefill_paged.py -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "paged tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
for m in causal:1 causal:2 full:1; do
  mask=${m%%:*}; p=${m#*:}
  timeout 150 python3 -m bench.prefill_paged --long --mask $mask --tiles auto,128 --timing paired --rounds 5 \
      --json "$OUT/r/long_${mask}_p$p.json" > "$OUT/r/long_${mask}_p$p.log" 2>&1
  log "long $mask process $p rc=$? $(el)"; grep -E "^\| (case|prefill|append)|kernel|tmabox|Error" "$OUT/r/long_${mask}_p$p.log" | tee -a "$OUT/main.log"
done
timeout 120 python3 -m bench.prefill_paged --rounds 7 --json "$OUT/r/issue5.json" > "$OUT/r/issue5.log" 2>&1
log "issue 5 cases rc=$? $(el)"; grep -E "^\| (case|prefill|append)|kernel|tmabox|Error" "$OUT/r/issue5.log" | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call3.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
