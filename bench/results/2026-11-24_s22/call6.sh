#!/bin/bash
# Session 22 call 6 (device): ROW_EARLY trace (.abT22r), then decode_multi_build at hd128 (.ab22r: main / re / main2) and
# hd64 (.ab22r64: main / re).
#   carry [".kit", ".snap22f", ".abT22r", ".ab22r", ".ab22r64"]; source .kit/unpack.sh .kit >/dev/null && bash .snap22f/bench/results/2026-11-24_s22/call6.sh
set -u
R=$PWD; SNAP=.snap22f; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
CUTE_ATTN_ARTIFACTS=$R/.abT22r timeout 200 python3 -m bench.decode_trace --head-dim 128 --cases "64 x 4k" "128 x 1k" \
    --pages 16 1 --flush read --reps 20 --json "$OUT/r/tr.json" --raw "$OUT/r/tr.npz" > "$OUT/r/tr.log" 2>&1
log "trace rc=$? $(el)"
python3 - "$OUT/r/tr.json" <<'PY' | tee -a "$OUT/main.log"
import json, sys
for r in json.load(open(sys.argv[1])):
    if "case" not in r:
        continue
    keys = ["event_us", "stream_GBs_first_to_last_tile", "tail_after_median_last_tile_us", "item_first_to_epilogue_us",
            "item_transition_gap_us", "producer_lead_us", "producer_end_to_pre_acquire_us", "producer_acquire_wait_us",
            "producer_acquire_to_issue_us"]
    print(r["case"], r["page"], {k: (round(r[k], 2) if isinstance(r[k], float) else [round(x, 2) for x in r[k]]) for k in keys if k in r})
PY
timeout 300 python3 bench/decode_multi_build.py --builds main=$R/.ab22r re=$R/.ab22r main2=$R/.ab22r \
    --cases "128 x 1k" "64 x 4k" "skewed 1 x 32k + 63 x 512" "16 x 16k" --pages 16 1 --flush read zero \
    --rounds 8 --budget-s 200 --json "$OUT/r/ab128.json" > "$OUT/r/ab128.log" 2>&1
log "ab128 rc=$? $(el)"; grep -vE "^\{\"round" "$OUT/r/ab128.log" | grep -v check | tail -30 | tee -a "$OUT/main.log"
grep check "$OUT/r/ab128.log" | tee -a "$OUT/main.log"
timeout 250 python3 bench/decode_multi_build.py --head-dim 64 --builds main=$R/.ab22r64 re=$R/.ab22r64 \
    --cases "128 x 1k" "64 x 4k" "16 x 16k" --pages 16 1 --flush read zero --rounds 8 --budget-s 150 \
    --json "$OUT/r/ab64.json" > "$OUT/r/ab64.log" 2>&1
log "ab64 rc=$? $(el)"; grep -vE "^\{\"round" "$OUT/r/ab64.log" | grep -v check | tail -20 | tee -a "$OUT/main.log"
grep check "$OUT/r/ab64.log" | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
