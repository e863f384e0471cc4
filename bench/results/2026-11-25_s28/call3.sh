#!/bin/bash
# Session 28 call 3 (device): every GPU test on .snap28b (the final tree's kernels: session 26's decode, session 18's
# prefill; ea63418's one-item test assertion runs on the GPU for the first time since it was restored), then
# bench.decode eager (read flush; issue 6's table) and bench.prefill_paged (issue 5's) in fresh processes.
#   carry [".kit", ".snap28b"]; source .kit/unpack.sh .kit >/dev/null && bash .snap28b/bench/results/2026-11-25_s28/call3.sh
set -u
R=$PWD; SNAP=.snap28b; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 430 python3 -m pytest -m gpu tests -q -rs --timeout=200 -p no:cacheprovider --durations=8 > "$OUT/r/tests.txt" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR|SKIPPED" "$OUT/r/tests.txt" | tail -20 | tee -a "$OUT/main.log"
timeout 80 python3 -m bench.decode --no-extras --flush read --json "$OUT/r/decode_read.json" > "$OUT/r/decode_read.txt" 2>&1
log "decode read rc=$? $(el)"; grep -E "^\|" "$OUT/r/decode_read.txt" | tail -14 | tee -a "$OUT/main.log"
timeout 60 python3 -m bench.prefill_paged --json "$OUT/r/prefill_paged.json" > "$OUT/r/prefill_paged.txt" 2>&1
log "prefill_paged rc=$? $(el)"; grep -E "^\|" "$OUT/r/prefill_paged.txt" | tail -12 | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
