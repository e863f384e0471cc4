#!/bin/bash
# Session 20 call 7 (device): run() of both decode launch ABIs (tensor = main; ptr = CUTE_ATTN_DECODE_PTR_ARGS=1, tagged
# builds in .ab20p) in three fresh processes (bench.decode_host --tagged; .snap20e's code).
#   carry [".kit", ".snap20e", ".ab20p"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s20/call7.sh
set -u
R=$PWD; SNAP=.snap20e; source bench/call_env.sh
log "host: $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
for i in 1 2 3; do
    timeout 120 python3 -m bench.decode_host --device cuda --reps 2000 --rounds 4 --tagged $R/.ab20p \
        --json "$OUT/r/host_$i.json" > "$OUT/r/host_$i.log" 2>&1
    log "decode_host $i rc=$? $(el)"; grep -E "^(plan |run)|ABI" "$OUT/r/host_$i.log" | tee -a "$OUT/main.log"
done
tar -cJf "$OUT/call7.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
