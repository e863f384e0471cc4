#!/bin/bash
# Session 19 call 5 (device): the final tree (.snap19e): every GPU test; bench/decode_trace.py 1 x 32k on its trace build
# (.ab19t2); bench.decode zero flush with extras (plan() / run() host times) and read flush; bench.prefill_paged (issue 5,
# kernels unchanged since session 18) in a second process of this session.
#   carry [".kit", ".snap19e", ".ab19t2"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s19/call5.sh
set -u
R=$PWD; SNAP=.snap19e; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 220 python3 -m pytest -m gpu tests -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
CUTE_ATTN_ARTIFACTS=$R/.ab19t2 CUTE_ATTN_CACHE=$(mktemp -d) timeout 100 python3 bench/decode_trace.py --cases "1 x 32k" \
    --pages 16 1 --flush read zero --reps 20 --json "$OUT/r/trace.json" > "$OUT/r/trace.log" 2>&1
log "trace rc=$? $(el)"; cat "$OUT/r/trace.log" | tee -a "$OUT/main.log"
timeout 200 python3 -m bench.decode --flush zero --json "$OUT/r/decode_zero.json" > "$OUT/r/decode_zero.log" 2>&1
log "decode zero rc=$? $(el)"; grep -E "^\||plan\(\)|run\(\)|fixed" "$OUT/r/decode_zero.log" | tee -a "$OUT/main.log"
timeout 150 python3 -m bench.decode --no-extras --flush read --json "$OUT/r/decode_read.json" > "$OUT/r/decode_read.log" 2>&1
log "decode read rc=$? $(el)"; grep -E "^\|" "$OUT/r/decode_read.log" | tee -a "$OUT/main.log"
timeout 100 python3 -m bench.prefill_paged --rounds 9 --json "$OUT/r/paged.json" > "$OUT/r/paged.log" 2>&1
log "paged rc=$? $(el)"; grep -E "^\| (case|prefill|append)|Error" "$OUT/r/paged.log" | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call5.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
