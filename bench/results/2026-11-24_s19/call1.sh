#!/bin/bash
# Session 19 call 1 (device): the tree with the merge widths (.snap19a = df15faf + notes): every GPU test;
# bench/decode_multi_build.py old / new (.ab19: HEAD~ from a worktree vs df15faf; 3-stage kernels on the one-item plans,
# default kernels on the others); bench.decode zero flush with extras (HND, 1 x N sweep, plan()/run() host times) and
# read flush; bench.prefill_paged (issue 5, kernels unchanged since session 18) in one process.
#   carry [".kit", ".snap19a", ".ab19"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s19/call1.sh
set -u
R=$PWD; SNAP=.snap19a; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 200 python3 -m pytest -m gpu tests -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
timeout 150 python3 bench/decode_multi_build.py --builds old3=$R/.ab19 new3=$R/.ab19 \
    --cases "1 x 32k" "8 x 32k" "16 x 16k" --pages 16 1 --flush zero read --rounds 6 --json "$OUT/r/multi1.json" \
    > "$OUT/r/multi1.log" 2>&1
log "multi one-item rc=$? $(el)"; grep -vE "^\{\"round" "$OUT/r/multi1.log" | tail -24 | tee -a "$OUT/main.log"
timeout 200 python3 bench/decode_multi_build.py --builds old=$R/.ab19 new=$R/.ab19 \
    --cases "skewed 1 x 32k + 63 x 512" "64 x 4k" "128 x 1k" --pages 16 1 --flush zero read --rounds 4 \
    --json "$OUT/r/multi2.json" > "$OUT/r/multi2.log" 2>&1
log "multi multi-item rc=$? $(el)"; grep -vE "^\{\"round" "$OUT/r/multi2.log" | tail -24 | tee -a "$OUT/main.log"
timeout 200 python3 -m bench.decode --flush zero --json "$OUT/r/decode_zero.json" > "$OUT/r/decode_zero.log" 2>&1
log "decode zero rc=$? $(el)"; grep -E "^\||plan\(\)|run\(\)|fixed" "$OUT/r/decode_zero.log" | tee -a "$OUT/main.log"
timeout 150 python3 -m bench.decode --no-extras --flush read --json "$OUT/r/decode_read.json" > "$OUT/r/decode_read.log" 2>&1
log "decode read rc=$? $(el)"; grep -E "^\|" "$OUT/r/decode_read.log" | tee -a "$OUT/main.log"
timeout 100 python3 -m bench.prefill_paged --rounds 9 --json "$OUT/r/paged.json" > "$OUT/r/paged.log" 2>&1
log "paged rc=$? $(el)"; grep -E "^\| (case|prefill|append)|Error" "$OUT/r/paged.log" | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call1.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
