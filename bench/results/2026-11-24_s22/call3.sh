#!/bin/bash
# Session 22 call 3 (device): traces with the KV-wait column (.abT22k = main's kernel, .abT22q = CUTE_ATTN_DECODE_EARLY_Q=1)
# on the multi-item plans, then decode_multi_build main / eq / main2 (tagged bf16 hd128 builds in .ab22q).
#   carry [".kit", ".snap22c", ".abT22k", ".abT22q", ".ab22q"]; source .kit/unpack.sh .kit >/dev/null && bash .snap22c/bench/results/2026-11-24_s22/call3.sh
set -u
R=$PWD; SNAP=.snap22c; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
for b in k q; do
  CUTE_ATTN_ARTIFACTS=$R/.abT22$b timeout 200 python3 -m bench.decode_trace --head-dim 128 --cases "64 x 4k" "128 x 1k" \
      --pages 16 1 --flush read --reps 20 --json "$OUT/r/t$b.json" --raw "$OUT/r/t$b.npz" > "$OUT/r/t$b.log" 2>&1
  log "trace $b rc=$? $(el)"
  python3 - "$OUT/r/t$b.json" <<'PY' | tee -a "$OUT/main.log"
import json, sys
for r in json.load(open(sys.argv[1])):
    if "case" not in r:
        continue
    keys = ["event_us", "stream_GBs_first_to_last_tile", "last_tile_us", "tail_after_median_last_tile_us",
            "item_first_to_epilogue_us", "item_transition_gap_us", "producer_lead_us", "item_kv_to_first_us"]
    print(r["case"], r["page"], {k: (round(r[k], 2) if isinstance(r[k], float) else [round(x, 2) for x in r[k]]) for k in keys if k in r})
PY
done
timeout 300 python3 bench/decode_multi_build.py --builds main=$R/.ab22q eq=$R/.ab22q main2=$R/.ab22q \
    --cases "128 x 1k" "64 x 4k" "skewed 1 x 32k + 63 x 512" "16 x 16k" --pages 16 1 --flush read zero --rounds 6 \
    --budget-s 200 --json "$OUT/r/ab.json" > "$OUT/r/ab.log" 2>&1
log "ab rc=$? $(el)"; grep -vE "^\{\"round" "$OUT/r/ab.log" | tail -30 | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
