#!/bin/bash
# Session 21 call 2 (device): the tree with the second sort kernel (.snap21b): the sort tests, bench.decode_sort_cost
# (new2 = .snap21b, new1 = call 1's .snap21a, old = session 20's .snap20n), every GPU test, bench.decode zero flush with
# the host timings and read flush (issue 6's table), bench.prefill_paged (issue 5's).
#   carry [".kit", ".snap21b", ".snap21a", ".snap20n"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s21/call2.sh
set -u
R=$PWD; SNAP=.snap21b; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 100 python3 -m pytest -m gpu tests/test_gpu_decode.py -q -k sort -p no:cacheprovider > "$OUT/r/sort_tests.log" 2>&1
log "sort tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR|^E " "$OUT/r/sort_tests.log" | tail -8 | tee -a "$OUT/main.log"
timeout 150 python3 -m bench.decode_sort_cost --builds new2=$PWD/build/artifacts/sm_90a new1=$R/.snap21a/build/artifacts/sm_90a \
    old=$R/.snap20n/build/artifacts/sm_90a --json "$OUT/r/sort_cost.json" > "$OUT/r/sort_cost.log" 2>&1
log "sort cost rc=$? $(el)"; grep -E "^\||Error|error" "$OUT/r/sort_cost.log" | tee -a "$OUT/main.log"
timeout 300 python3 -m pytest -m gpu tests -q -rs --timeout=200 -p no:cacheprovider --durations=10 > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
timeout 60 python3 -m bench.decode --flush zero --json "$OUT/r/decode_zero.json" > "$OUT/r/decode_zero.log" 2>&1
log "decode zero rc=$? $(el)"; grep -E "^\||plan\(\)|run\(\)|fixed" "$OUT/r/decode_zero.log" | tee -a "$OUT/main.log"
timeout 50 python3 -m bench.decode --no-extras --flush read --json "$OUT/r/decode_read.json" > "$OUT/r/decode_read.log" 2>&1
log "decode read rc=$? $(el)"; grep -E "^\|" "$OUT/r/decode_read.log" | tee -a "$OUT/main.log"
timeout 40 python3 -m bench.prefill_paged --rounds 9 --json "$OUT/r/paged.json" > "$OUT/r/paged.log" 2>&1
log "paged rc=$? $(el)"; grep -E "^\| (case|prefill|append)|Error" "$OUT/r/paged.log" | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call2.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
