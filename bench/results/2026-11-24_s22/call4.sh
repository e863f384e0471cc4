#!/bin/bash
# Session 22 call 4 (device): trace with the producer's transition stamps (.abT22p = CUTE_ATTN_DECODE_TRACE=1 build of the
# tree: bf16 decode hd64 / hd128 / hd256), hd128 and hd64, 64 x 4k and 128 x 1k, pages 16 / 1, read flush.
#   carry [".kit", ".snap22d", ".abT22p"]; source .kit/unpack.sh .kit >/dev/null && bash .snap22d/bench/results/2026-11-24_s22/call4.sh
set -u
R=$PWD; SNAP=.snap22d; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
for d in 128 64; do
  CUTE_ATTN_ARTIFACTS=$R/.abT22p timeout 200 python3 -m bench.decode_trace --head-dim $d --cases "64 x 4k" "128 x 1k" \
      --pages 16 1 --flush read --reps 20 --json "$OUT/r/t$d.json" --raw "$OUT/r/t$d.npz" > "$OUT/r/t$d.log" 2>&1
  log "trace hd$d rc=$? $(el)"
  python3 - "$OUT/r/t$d.json" <<'PY' | tee -a "$OUT/main.log"
import json, sys
for r in json.load(open(sys.argv[1])):
    if "case" not in r:
        continue
    keys = ["event_us", "stream_GBs_first_to_last_tile", "last_tile_us", "tail_after_median_last_tile_us",
            "item_first_to_epilogue_us", "item_transition_gap_us", "producer_lead_us", "item_kv_to_first_us",
            "producer_end_before_epilogue_us", "producer_end_to_pre_acquire_us", "producer_acquire_wait_us",
            "producer_acquire_to_issue_us"]
    print(r["case"], r["page"], {k: (round(r[k], 2) if isinstance(r[k], float) else [round(x, 2) for x in r[k]]) for k in keys if k in r})
PY
done
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
