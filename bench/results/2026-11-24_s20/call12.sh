#!/bin/bash
# Session 20 call 12 (device): hd64 decode's CTA group orders (bench.decode_plan_ab --groups --head-dim 64), zero and read
# flush, 64 x 4k and 128 x 1k, pages 1 / 16 (.snap20j).
#   carry [".kit", ".snap20j"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s20/call12.sh
set -u
R=$PWD; SNAP=.snap20j; source bench/call_env.sh
for fl in read zero; do
    timeout 200 python3 -m bench.decode_plan_ab --groups --head-dim 64 --flush $fl --rounds 4 --json "$OUT/r/groups_$fl.json" \
        > "$OUT/r/groups_$fl.log" 2>&1
    log "groups hd64 $fl rc=$? $(el)"; grep -E "^\||Error" "$OUT/r/groups_$fl.log" | tee -a "$OUT/main.log"
done
tar -cJf "$OUT/call12.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
