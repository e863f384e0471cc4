#!/bin/bash
# Session 20 call 18 (device): smoke of the bench scripts after their --head-dim refactor (head_dim_arg / use_head_dim):
# decode_multi_build, decode_plan_ab --groups and decode_trace at hd64, one short run each (.snap20m).
#   carry [".kit", ".snap20m", ".ab20h", ".ab20t3"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s20/call18.sh
set -u
R=$PWD; SNAP=.snap20m; source bench/call_env.sh
timeout 120 python3 bench/decode_multi_build.py --head-dim 64 --builds s4=$R/.ab20h s4b=$R/.ab20h --cases "128 x 1k" \
    --pages 16 --flush read --rounds 1 > "$OUT/r/multi.log" 2>&1
log "multi rc=$? $(el)"; grep -vE "^\{\"round" "$OUT/r/multi.log" | tail -4 | tee -a "$OUT/main.log"
timeout 120 python3 -m bench.decode_plan_ab --groups --head-dim 64 --flush read --rounds 1 > "$OUT/r/groups.log" 2>&1
log "groups rc=$? $(el)"; grep -E "^\|" "$OUT/r/groups.log" | tee -a "$OUT/main.log"
CUTE_ATTN_ARTIFACTS=$R/.ab20t3 timeout 120 python3 bench/decode_trace.py --head-dim 64 --cases "128 x 1k" --pages 16 \
    --flush read --reps 3 > "$OUT/r/trace.log" 2>&1
log "trace rc=$? $(el)"; tail -1 "$OUT/r/trace.log" | cut -c1-300 | tee -a "$OUT/main.log"
tar -cJf "$OUT/call18.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
