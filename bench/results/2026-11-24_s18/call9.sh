#!/bin/bash
# Session 18 call 9 (device): the one-item decode variant without the cta_ptr load (.snap18f; NOTES-decode, session 18):
# the decode GPU tests; bench/decode_multi_build.py old / old2 / new 3-stage kernels (.ab18d) on the same plans.
#   carry [".kit", ".snap18f", ".ab18d"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s18/call9.sh
set -u
R=$PWD; SNAP=.snap18f; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 200 python3 -m pytest -m gpu tests/test_gpu_decode.py -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "decode tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
timeout 300 python3 bench/decode_multi_build.py --builds old=$R/.ab18d old2=$R/.ab18d new=$R/.ab18d \
    --cases "1 x 32k" "16 x 16k" "8 x 32k" --pages 16 1 --flush zero read --rounds 6 --json "$OUT/r/multi.json" \
    > "$OUT/r/multi.log" 2>&1
log "multi_build rc=$? $(el)"; grep -vE "^\{\"round" "$OUT/r/multi.log" | tail -40 | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call9.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
