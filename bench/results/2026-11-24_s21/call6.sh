#!/bin/bash
# Session 21 call 6 (device): the rate-weighted static decode plan (session 20's lead). Step 1: raw per-CTA trace stamps of
# the default plan (trace build .abT21, 30 launches, read flush) for 64 x 4k and 128 x 1k, page 16; step 2, a fresh
# process on the shipped build (.snap21f): bench.decode_weighted_plan with those rates (default / w_first / w_stream /
# ctl + cuDNN, 6 rounds, read flush), then the same at page 1 with page-1 stamps.
#   carry [".kit", ".snap21f", ".abT21"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s21/call6.sh
set -u
R=$PWD; SNAP=.snap21f; source bench/call_env.sh
nvidia-smi --query-gpu=serial,uuid,pci.bus_id --format=csv | tee -a "$OUT/main.log"
CUTE_ATTN_ARTIFACTS=$R/.abT21 timeout 150 python3 bench/decode_trace.py --head-dim 128 --cases "64 x 4k" "128 x 1k" \
    --pages 16 1 --flush read --reps 30 --raw "$OUT/r/raw.npz" > "$OUT/r/trace.log" 2>&1
log "trace rc=$? $(el)"; tail -2 "$OUT/r/trace.log" | cut -c1-300 | tee -a "$OUT/main.log"
for pg in 16 1; do
    timeout 150 python3 -m bench.decode_weighted_plan --raw "$OUT/r/raw.npz" --page $pg --flush read --rounds 6 \
        --json "$OUT/r/weighted_p$pg.json" > "$OUT/r/weighted_p$pg.log" 2>&1
    log "weighted page $pg rc=$? $(el)"; grep -E "^\||Error|error|skipped|no stamps" "$OUT/r/weighted_p$pg.log" | tee -a "$OUT/main.log"
done
tar -cJf "$OUT/call6.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
