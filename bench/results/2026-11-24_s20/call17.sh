#!/bin/bash
# Session 20 call 17 (device): raw decode trace stamps, hd128 64 x 4k page 16, read flush, in two fresh processes
# (.snap20l, .ab20t2), plus the GPU's serial number (is this call 16's chip?).
#   carry [".kit", ".snap20l", ".ab20t2"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s20/call17.sh
set -u
R=$PWD; SNAP=.snap20l; source bench/call_env.sh
nvidia-smi --query-gpu=serial,uuid,pci.bus_id --format=csv | tee -a "$OUT/main.log"
for i in 1 2; do
    CUTE_ATTN_ARTIFACTS=$R/.ab20t2 timeout 120 python3 bench/decode_trace.py --head-dim 128 --cases "64 x 4k" --pages 16 \
        --flush read --reps 30 --raw "$OUT/r/raw_p$i.npz" > "$OUT/r/trace_p$i.log" 2>&1
    log "trace process $i rc=$? $(el)"
done
tar -cJf "$OUT/call17.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
