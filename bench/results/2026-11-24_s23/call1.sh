#!/bin/bash
# Session 23 call 1 (device): the final tree of session 22 (.snap23a = 332dc3d, kernels as call 8 of session 22 but
# for comments; PTX compared identical there): every GPU test; bench.prefill_paged (issue 5); bench.decode read flush
# (issue 6) with the extras (plan() / run() host times).
#   carry [".kit", ".snap23a"]; source .kit/unpack.sh .kit >/dev/null && bash .snap23a/bench/results/2026-11-24_s23/call1.sh
set -u
R=$PWD; SNAP=.snap23a; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 330 python3 -m pytest -m gpu tests -q -rs --timeout=200 -p no:cacheprovider --durations=5 > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
timeout 45 python3 -m bench.prefill_paged --rounds 9 --json "$OUT/r/paged.json" > "$OUT/r/paged.log" 2>&1
log "paged rc=$? $(el)"; grep -E "^\| (case|prefill|append)|Error" "$OUT/r/paged.log" | tee -a "$OUT/main.log"
timeout 150 python3 -m bench.decode --flush read --json "$OUT/r/decode_read.json" > "$OUT/r/decode_read.log" 2>&1
log "decode read rc=$? $(el)"; grep -E "^\||plan|run\(\)|host" "$OUT/r/decode_read.log" | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
