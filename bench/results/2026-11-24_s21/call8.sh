#!/bin/bash
# Session 21 call 8 (device): smoke of the refactored A/B benches on the final tree (.snap21h): decode_plan_ab --groups
# (2 rounds) and decode_weighted_plan page 16 (2 rounds, call 6's stamps: another chip's rates may differ; a smoke only).
#   carry [".kit", ".snap21h"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s21/call8.sh
set -u
R=$PWD; SNAP=.snap21h; source bench/call_env.sh
mkdir -p /tmp/c6 && tar xf bench/results/2026-11-24_s21/call6/call6.tar.xz -C /tmp/c6
timeout 120 python3 -m bench.decode_plan_ab --groups --flush read --rounds 2 > "$OUT/r/groups.log" 2>&1
log "groups rc=$? $(el)"; grep -E "^\||Error|error" "$OUT/r/groups.log" | tee -a "$OUT/main.log"
timeout 120 python3 -m bench.decode_weighted_plan --raw /tmp/c6/r/raw.npz --page 16 --rounds 2 > "$OUT/r/weighted.log" 2>&1
log "weighted rc=$? $(el)"; grep -E "^\||Error|error" "$OUT/r/weighted.log" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call8.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
