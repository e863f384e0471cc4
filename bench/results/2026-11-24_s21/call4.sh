#!/bin/bash
# Session 21 call 4 (device): the final tree (.snap21d; the sort kernel's PTX identical to call 3's): every GPU test; the
# issue tables in a second process (bench.decode read flush, no extras; bench.prefill_paged); decode_sort_cost on the
# shipped sort (one build).
#   carry [".kit", ".snap21d"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s21/call4.sh
set -u
R=$PWD; SNAP=.snap21d; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 300 python3 -m pytest -m gpu tests -q -rs --timeout=200 -p no:cacheprovider --durations=5 > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
timeout 50 python3 -m bench.decode --no-extras --flush read --json "$OUT/r/decode_read.json" > "$OUT/r/decode_read.log" 2>&1
log "decode read rc=$? $(el)"; grep -E "^\|" "$OUT/r/decode_read.log" | tee -a "$OUT/main.log"
timeout 40 python3 -m bench.prefill_paged --rounds 9 --json "$OUT/r/paged.json" > "$OUT/r/paged.log" 2>&1
log "paged rc=$? $(el)"; grep -E "^\| (case|prefill|append)|Error" "$OUT/r/paged.log" | tee -a "$OUT/main.log"
timeout 80 python3 -m bench.decode_sort_cost --json "$OUT/r/sort_cost.json" > "$OUT/r/sort_cost.log" 2>&1
log "sort cost rc=$? $(el)"; grep -E "^\||Error|error" "$OUT/r/sort_cost.log" | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call4.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
