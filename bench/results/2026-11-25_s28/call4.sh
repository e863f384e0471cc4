#!/bin/bash
# Session 28 call 4 (device): bench.power_probe --paged (each prefill kernel alone for 4 s, two passes in opposite
# orders, nvidia-smi clock / power every 50 ms) on 4 x 4k and 16 x 1k, then bench.prefill_paged --rounds 9.
#   carry [".kit", ".snap28c"]; source .kit/unpack.sh .kit >/dev/null && bash .snap28c/bench/results/2026-11-25_s28/call4.sh
set -u
R=$PWD; SNAP=.snap28c; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 120 python3 -m bench.power_probe --paged "prefill 4x4k" --passes 2 --secs 4 --json "$OUT/r/power_4x4k.json" > "$OUT/r/power_4x4k.txt" 2>&1
log "power 4x4k rc=$? $(el)"; grep -E "^\|" "$OUT/r/power_4x4k.txt" | tee -a "$OUT/main.log"
timeout 100 python3 -m bench.power_probe --paged "prefill 16x1k" --passes 2 --secs 3 --json "$OUT/r/power_16x1k.json" > "$OUT/r/power_16x1k.txt" 2>&1
log "power 16x1k rc=$? $(el)"; grep -E "^\|" "$OUT/r/power_16x1k.txt" | tee -a "$OUT/main.log"
timeout 120 python3 -m bench.prefill_paged --rounds 9 --json "$OUT/r/prefill_paged_r9.json" > "$OUT/r/prefill_paged_r9.txt" 2>&1
log "prefill_paged r9 rc=$? $(el)"; grep -E "^\|" "$OUT/r/prefill_paged_r9.txt" | tail -12 | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
