#!/bin/bash
# Session 28 call 5 (device): bench.power_probe --paged, three passes (orders forward, reverse, forward), each kernel
# alone for 4 s, on the three issue-5 cases (4 x 4k, 16 x 1k, append 512 on 8k).
#   carry [".kit", ".snap28d"]; source .kit/unpack.sh .kit >/dev/null && bash .snap28d/bench/results/2026-11-25_s28/call5.sh
set -u
R=$PWD; SNAP=.snap28d; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
for c in "prefill 4x4k:4x4k" "prefill 16x1k:16x1k" "append 512 on 8k, x4:append"; do
  name=${c%%:*}; tag=${c##*:}
  timeout 150 python3 -m bench.power_probe --paged "$name" --passes 3 --secs 4 --json "$OUT/r/power_$tag.json" > "$OUT/r/power_$tag.txt" 2>&1
  log "power $tag rc=$? $(el)"; grep -E "^\|" "$OUT/r/power_$tag.txt" | tee -a "$OUT/main.log"
done
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
