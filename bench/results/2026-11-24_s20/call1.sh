#!/bin/bash
# Session 20 call 1 (device): the decode GPU tests on the early-election tree (.snap20a = s20-early 4e51cc5+); then
# bench/decode_multi_build.py main (old3) / main again (ctl3) / early (early3) on the one-item plans (3-stage kernels,
# .ab20); then the 1 x 32k trace of the early tree (.ab20t, CUTE_ATTN_DECODE_TRACE=1).
#   carry [".kit", ".snap20a", ".ab20", ".ab20t"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s20/call1.sh
set -u
R=$PWD; SNAP=.snap20a; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 150 python3 -m pytest -m gpu tests/test_gpu_decode.py -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "decode tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
timeout 200 python3 bench/decode_multi_build.py --builds old3=$R/.ab20 ctl3=$R/.ab20 early3=$R/.ab20 \
    --cases "1 x 32k" "8 x 32k" "16 x 16k" --pages 16 1 --flush zero read --rounds 6 --json "$OUT/r/multi1.json" \
    > "$OUT/r/multi1.log" 2>&1
log "multi one-item rc=$? $(el)"; grep -vE "^\{\"round" "$OUT/r/multi1.log" | tail -24 | tee -a "$OUT/main.log"
CUTE_ATTN_ARTIFACTS=$R/.ab20t timeout 90 python3 bench/decode_trace.py --cases "1 x 32k" --pages 16 1 --flush read zero \
    --reps 20 --json "$OUT/r/trace.json" > "$OUT/r/trace.log" 2>&1
log "trace rc=$? $(el)"; tail -6 "$OUT/r/trace.log" | cut -c1-600 | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call1.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
