#!/bin/bash
# Session 25 call 2 (device; run inline as the run command, recorded here): every GPU test on .snap25a.
#   carry [".kit", ".snap25a"]; source .kit/unpack.sh .kit >/dev/null && bash .snap25a/bench/results/2026-11-25_s25/call2.sh
set -u
R=$PWD; SNAP=.snap25a; source bench/call_env.sh
timeout 560 python3 -m pytest -m gpu tests -q -rs --timeout=200 -p no:cacheprovider --durations=8 > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR|SKIPPED" "$OUT/r/tests.log" | tail -20 | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us"
