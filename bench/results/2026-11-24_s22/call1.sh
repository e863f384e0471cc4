#!/bin/bash
# Session 22 call 1 (device): per-item decode trace (.abT22 = CUTE_ATTN_DECODE_TRACE=1 build of 5611a8f's bf16 hd128 /
# hd64 decode variants): 16 x 16k (3-stage default and s4), 64 x 4k, 128 x 1k; pages 16 / 1; read flush; raw stamps.
#   carry [".kit", ".snap22a", ".abT22"]; source .kit/unpack.sh .kit >/dev/null && bash .snap22a/bench/results/2026-11-24_s22/call1.sh
set -u
R=$PWD; SNAP=.snap22a; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
CUTE_ATTN_ARTIFACTS=$R/.abT22 timeout 150 python3 -m bench.decode_trace --head-dim 128 --cases "16 x 16k" --pages 16 1 \
    --flush read --settings base s4 --reps 20 --json "$OUT/r/t16k.json" --raw "$OUT/r/t16k.npz" > "$OUT/r/t16k.log" 2>&1
log "trace 16x16k rc=$? $(el)"
CUTE_ATTN_ARTIFACTS=$R/.abT22 timeout 200 python3 -m bench.decode_trace --head-dim 128 --cases "64 x 4k" "128 x 1k" \
    --pages 16 1 --flush read --reps 20 --json "$OUT/r/tmulti.json" --raw "$OUT/r/tmulti.npz" > "$OUT/r/tmulti.log" 2>&1
log "trace multi rc=$? $(el)"
python3 - "$OUT/r/t16k.json" "$OUT/r/tmulti.json" <<'PY' | tee -a "$OUT/main.log"
import json, sys
for f in sys.argv[1:]:
    for r in json.load(open(f)):
        if "case" not in r:
            print("null", r["flush"], round(r["event_us"], 2)); continue
        keys = ["event_us", "first_tile_us", "stream_GBs_first_to_last_tile", "last_tile_us", "tail_after_median_last_tile_us",
                "item_first_to_epilogue_us", "item_transition_gap_us", "producer_lead_us"]
        print(r["case"], r["page"], r["setting"], r["stages"], {k: (round(r[k], 2) if isinstance(r[k], float) else [round(x, 2) for x in r[k]]) for k in keys if k in r})
PY
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
