#!/bin/bash
# Session 23 call 6 (device): the final tree (.snap23f: item_heads variants at hd64 and hd128, both planners' rule):
# every GPU test; bench.decode read flush with the extras (plan() / run() host times); bench.decode --head-dim 64 read
# flush; bench.prefill_paged (issue 5, kernels unchanged since session 18).
#   carry [".kit", ".snap23f"]; source .kit/unpack.sh .kit >/dev/null && bash .snap23f/bench/results/2026-11-24_s23/call6.sh
set -u
R=$PWD; SNAP=.snap23f; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 330 python3 -m pytest -m gpu tests -q -rs --timeout=200 -p no:cacheprovider --durations=5 > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
timeout 100 python3 -m bench.decode --flush read --json "$OUT/r/decode_read.json" > "$OUT/r/decode_read.log" 2>&1
log "decode read rc=$? $(el)"; grep -E "^\||plan|run\(\)|host" "$OUT/r/decode_read.log" | tee -a "$OUT/main.log"
timeout 60 python3 -m bench.decode --head-dim 64 --no-extras --flush read --json "$OUT/r/decode64.json" > "$OUT/r/decode64.log" 2>&1
log "decode hd64 rc=$? $(el)"; grep -E "^\|" "$OUT/r/decode64.log" | tee -a "$OUT/main.log"
timeout 40 python3 -m bench.prefill_paged --rounds 9 --json "$OUT/r/paged.json" > "$OUT/r/paged.log" 2>&1
log "paged rc=$? $(el)"; grep -E "^\| (case|prefill|append)|Error" "$OUT/r/paged.log" | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
