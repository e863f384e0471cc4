#!/bin/bash
# Session 20 call 2 (device): main's tree with the new fuzz tests (.snap20b; kernels unchanged since session 19): every
# GPU test (the fuzz at the default seed among them), the fuzz again at two other seeds; bench.decode zero flush with
# extras (plan() / run() host times) and read flush; bench.prefill_paged (issue 5).
#   carry [".kit", ".snap20b"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s20/call2.sh
set -u
R=$PWD; SNAP=.snap20b; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 330 python3 -m pytest -m gpu tests -q -rs --timeout=200 -p no:cacheprovider --durations=15 > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
grep -A17 "slowest" "$OUT/r/tests.log" | tee -a "$OUT/main.log"
for s in 7 31337; do
    CUTE_ATTN_FUZZ_SEED=$s timeout 150 python3 -m pytest -m gpu tests/test_gpu_fuzz.py -q -rs --timeout=140 \
        -p no:cacheprovider > "$OUT/r/fuzz_$s.log" 2>&1
    log "fuzz seed $s rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR|^E " "$OUT/r/fuzz_$s.log" | tail -8 | tee -a "$OUT/main.log"
done
timeout 200 python3 -m bench.decode --flush zero --json "$OUT/r/decode_zero.json" > "$OUT/r/decode_zero.log" 2>&1
log "decode zero rc=$? $(el)"; grep -E "^\||plan\(\)|run\(\)|fixed" "$OUT/r/decode_zero.log" | tee -a "$OUT/main.log"
timeout 150 python3 -m bench.decode --no-extras --flush read --json "$OUT/r/decode_read.json" > "$OUT/r/decode_read.log" 2>&1
log "decode read rc=$? $(el)"; grep -E "^\|" "$OUT/r/decode_read.log" | tee -a "$OUT/main.log"
timeout 100 python3 -m bench.prefill_paged --rounds 9 --json "$OUT/r/paged.json" > "$OUT/r/paged.log" 2>&1
log "paged rc=$? $(el)"; grep -E "^\| (case|prefill|append)|Error" "$OUT/r/paged.log" | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call2.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
