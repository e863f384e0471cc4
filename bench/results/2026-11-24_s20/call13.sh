#!/bin/bash
# Session 20 call 13 (device): hd64 plans head-minor from page 1 (.snap20k): the decode GPU tests and the fuzz file; then
# bench.decode --head-dim 64 (no extras) under the read and the zero flush (call 9 is the before, same bench).
#   carry [".kit", ".snap20k"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s20/call13.sh
set -u
R=$PWD; SNAP=.snap20k; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 200 python3 -m pytest -m gpu tests/test_gpu_decode.py tests/test_gpu_fuzz.py -q -rs --timeout=150 -p no:cacheprovider \
    > "$OUT/r/tests.log" 2>&1
log "decode + fuzz tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -8 | tee -a "$OUT/main.log"
for fl in read zero; do
    timeout 170 python3 -m bench.decode --no-extras --flush $fl --head-dim 64 --json "$OUT/r/decode_hd64_$fl.json" \
        > "$OUT/r/decode_hd64_$fl.log" 2>&1
    log "decode hd64 $fl rc=$? $(el)"; grep -E "^\||head_dim|FAILED|Error" "$OUT/r/decode_hd64_$fl.log" | tee -a "$OUT/main.log"
done
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call13.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
