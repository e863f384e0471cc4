#!/bin/bash
# Session 22 call 9 (device): the final tree (.snap22i: plan()'s cache invalidation by cudaMemsetAsync): the decode GPU
# tests; bench.decode_host in two fresh processes (plan vs plan_no_zero, run); bench.decode read flush (no extras).
#   carry [".kit", ".snap22i"]; source .kit/unpack.sh .kit >/dev/null && bash .snap22i/bench/results/2026-11-24_s22/call9.sh
set -u
R=$PWD; SNAP=.snap22i; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 200 python3 -m pytest -m gpu tests/test_gpu_decode.py -q -p no:cacheprovider > "$OUT/r/decode_tests.log" 2>&1
log "decode tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/decode_tests.log" | tail -6 | tee -a "$OUT/main.log"
for i in 1 2; do
  timeout 90 python3 -m bench.decode_host --reps 1000 --rounds 4 --json "$OUT/r/host$i.json" > "$OUT/r/host$i.log" 2>&1
  log "decode_host $i rc=$? $(el)"; grep -E "^(plan|run|c_call)" "$OUT/r/host$i.log" | tee -a "$OUT/main.log"
done
timeout 60 python3 -m bench.decode --no-extras --flush read --json "$OUT/r/decode_read.json" > "$OUT/r/decode_read.log" 2>&1
log "decode read rc=$? $(el)"; grep -E "^\|" "$OUT/r/decode_read.log" | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
