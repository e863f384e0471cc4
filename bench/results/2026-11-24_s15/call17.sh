#!/bin/bash
# Session 15 call 17 (device): per clock, the dense hd128 192-row tiles with the vote alone / + 2 / 4 / 8 chains against
# off (.ab15: b0, v2, v4, v8 of call 2; .ab15e/d_vm: the vote alone), 1 x 16k full / causal and 1 x 8k causal, paired,
# one process: which chain count the shipped rows should have (NOTES-prefill-paged 26, call 17).
#   carry [".kit", ".snap15z", ".ab15", ".ab15e"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s15/call17.sh
set -u
R=$PWD
SNAP=.snap15z
source bench/call_env.sh
A=$R/.ab15
timeout 200 python3 -m bench.prefill_dense_ab --variant off=$A/b0 --variant vm=$R/.ab15e/d_vm --variant v2=$A/v2 \
    --variant v4=$A/v4 --variant v8=$A/v8 --timing paired --rounds 5 \
    --cases 1x16384:128:full,1x16384:128:causal,1x8192:128:causal --json "$OUT/r/dense.json" > "$OUT/r/dense.log" 2>&1
log "dense paired rc=$? $(el)"; grep -E "^\|" "$OUT/r/dense.log" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call17.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
