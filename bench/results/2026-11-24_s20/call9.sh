#!/bin/bash
# Session 20 call 9 (device): bench.decode (no extras, read flush) at the head dims and dtype the issue tables do not
# cover: hd64 bf16, hd256 bf16, hd128 fp16 (32 q / 8 kv heads, shuffled page ids, default plan), each x cuDNN / FA2
# SDPA in its process (.snap20g; kernels unchanged since session 19).
#   carry [".kit", ".snap20g"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s20/call9.sh
set -u
R=$PWD; SNAP=.snap20g; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
for cfg in "64 bf16" "256 bf16" "128 fp16"; do
    set -- $cfg
    timeout 170 python3 -m bench.decode --no-extras --flush read --head-dim $1 --dtype $2 \
        --json "$OUT/r/decode_hd$1_$2.json" > "$OUT/r/decode_hd$1_$2.log" 2>&1
    log "decode hd$1 $2 rc=$? $(el)"; grep -E "^\||head_dim|FAILED|Error" "$OUT/r/decode_hd$1_$2.log" | tee -a "$OUT/main.log"
done
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call9.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
