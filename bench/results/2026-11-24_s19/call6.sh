#!/bin/bash
# Session 19 call 6 (device): decode GPU tests on the fl tree (.snap19f); bench/decode_multi_build.py tbv / control / fl
# tagged kernels (.ab19d), one-item and multi-item plans.
#   carry [".kit", ".snap19f", ".ab19d"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s19/call6.sh
set -u
R=$PWD; SNAP=.snap19f; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 150 python3 -m pytest -m gpu tests/test_gpu_decode.py -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "decode tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
timeout 150 python3 bench/decode_multi_build.py --builds tbv3=$R/.ab19d tbv23=$R/.ab19d fl3=$R/.ab19d \
    --cases "1 x 32k" "8 x 32k" "16 x 16k" --pages 16 1 --flush zero read --rounds 6 --json "$OUT/r/multi1.json" \
    > "$OUT/r/multi1.log" 2>&1
log "multi one-item rc=$? $(el)"; grep -vE "^\{\"round" "$OUT/r/multi1.log" | tail -24 | tee -a "$OUT/main.log"
timeout 200 python3 bench/decode_multi_build.py --builds tbv=$R/.ab19d tbv2=$R/.ab19d fl=$R/.ab19d \
    --cases "skewed 1 x 32k + 63 x 512" "128 x 1k" "64 x 4k" --pages 16 1 --flush zero read --rounds 4 \
    --json "$OUT/r/multi2.json" > "$OUT/r/multi2.log" 2>&1
log "multi multi-item rc=$? $(el)"; grep -vE "^\{\"round" "$OUT/r/multi2.log" | tail -24 | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call6.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
