#!/bin/bash
# Session 18 call 4 (device): call 3's long-request A/B again with bench.prefill_paged's check fixed (a forced 128-row
# tile against the dense plan's 192-row one is checked to rounding, not bitwise): .snap18c with the fixed bench file.
#   carry [".kit", ".snap18c"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s18/call4.sh
set -u
R=$PWD; SNAP=.snap18c; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
for m in causal:1 causal:2 full:1; do
  mask=${m%%:*}; p=${m#*:}
  timeout 150 python3 -m bench.prefill_paged --long --mask $mask --tiles auto,128 --timing paired --rounds 5 \
      --json "$OUT/r/long_${mask}_p$p.json" > "$OUT/r/long_${mask}_p$p.log" 2>&1
  log "long $mask process $p rc=$? $(el)"; grep -E "^\| (case|prefill|append)|kernel|tmabox|Error" "$OUT/r/long_${mask}_p$p.log" | tee -a "$OUT/main.log"
done
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call4.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
