#!/bin/bash
# Session 22 call 8 (device): the final tree (.snap22h, default build: FIRST_IDS on for the hd128 decode variants):
# every GPU test; bench.decode read flush (no extras) and zero flush (with the extras: plan() / run() host times);
# bench.prefill_paged; then FIRST_IDS at hd64 / hd256 with a control label (.ab22h).
#   carry [".kit", ".snap22h", ".ab22h"]; source .kit/unpack.sh .kit >/dev/null && bash .snap22h/bench/results/2026-11-24_s22/call8.sh
set -u
R=$PWD; SNAP=.snap22h; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 330 python3 -m pytest -m gpu tests -q -rs --timeout=200 -p no:cacheprovider --durations=5 > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
timeout 60 python3 -m bench.decode --no-extras --flush read --json "$OUT/r/decode_read.json" > "$OUT/r/decode_read.log" 2>&1
log "decode read rc=$? $(el)"; grep -E "^\|" "$OUT/r/decode_read.log" | tee -a "$OUT/main.log"
timeout 90 python3 -m bench.decode --flush zero --json "$OUT/r/decode_zero.json" > "$OUT/r/decode_zero.log" 2>&1
log "decode zero rc=$? $(el)"; grep -E "^\||plan|run\(\)|host" "$OUT/r/decode_zero.log" | tee -a "$OUT/main.log"
timeout 40 python3 -m bench.prefill_paged --rounds 9 --json "$OUT/r/paged.json" > "$OUT/r/paged.log" 2>&1
log "paged rc=$? $(el)"; grep -E "^\| (case|prefill|append)|Error" "$OUT/r/paged.log" | tee -a "$OUT/main.log"
timeout 100 python3 bench/decode_multi_build.py --head-dim 64 --builds m64=$R/.ab22h f64=$R/.ab22h m64b=$R/.ab22h \
    --cases "128 x 1k" "64 x 4k" "16 x 16k" --pages 16 1 --flush read zero --rounds 6 --budget-s 60 \
    --json "$OUT/r/ab64.json" > "$OUT/r/ab64.log" 2>&1
log "ab64 rc=$? $(el)"; grep -vE "^\{\"round" "$OUT/r/ab64.log" | grep -v check | grep -v cudnn | tail -12 | tee -a "$OUT/main.log"
grep check "$OUT/r/ab64.log" | grep -v "true, 0.0\], \"f64\": \[0.0, 0.0, true, 0.0\], \"m64b\": \[0.0, 0.0, true, 0.0\]" | tee -a "$OUT/main.log"
timeout 100 python3 bench/decode_multi_build.py --head-dim 256 --builds m256=$R/.ab22h f256=$R/.ab22h \
    --cases "128 x 1k" "64 x 4k" "1 x 32k" --pages 16 1 --flush read zero --rounds 6 --budget-s 60 \
    --json "$OUT/r/ab256.json" > "$OUT/r/ab256.log" 2>&1
log "ab256 rc=$? $(el)"; grep -vE "^\{\"round" "$OUT/r/ab256.log" | grep -v check | grep -v cudnn | tail -12 | tee -a "$OUT/main.log"
grep check "$OUT/r/ab256.log" | grep -v "true, 0.0\], \"f256\": \[0.0, 0.0, true, 0.0\]" | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
