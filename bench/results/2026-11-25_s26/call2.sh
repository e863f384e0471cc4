#!/bin/bash
# Session 26 call 2 (device): every GPU test on .snap26b (33a9162: the final decode kernels, PTX = session 25's), then
# bench.decode eager (read flush; issue 6's table) and bench.decode_host (plan() / run() host time).
#   carry [".kit", ".snap26b"]; source .kit/unpack.sh .kit >/dev/null && bash .snap26b/bench/results/2026-11-25_s26/call2.sh
set -u
R=$PWD; SNAP=.snap26b; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 430 python3 -m pytest -m gpu tests -q -rs --timeout=200 -p no:cacheprovider --durations=8 > "$OUT/r/tests.txt" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR|SKIPPED" "$OUT/r/tests.txt" | tail -20 | tee -a "$OUT/main.log"
timeout 90 python3 -m bench.decode --no-extras --flush read --json "$OUT/r/decode_read.json" > "$OUT/r/decode_read.txt" 2>&1
log "decode read rc=$? $(el)"; grep -E "^\||plan|run" "$OUT/r/decode_read.txt" | tail -20 | tee -a "$OUT/main.log"
timeout 50 python3 -m bench.decode_host --json "$OUT/r/decode_host.json" > "$OUT/r/decode_host.txt" 2>&1
log "decode host rc=$? $(el)"; tail -12 "$OUT/r/decode_host.txt" | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
