#!/bin/bash
# Session 17 call 7 (device): plan() / run() host time, the leaner sort path (.snap17g) and call 3's tree (.snap17e) in
# alternating processes (call 6's --ref run failed: both trees' sort kernels export one symbol name, and the process
# loaded the first), bench.decode_host --device cuda, three processes each.
#   carry [".kit", ".snap17g", ".snap17e"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s17/call7.sh
set -u
R=$PWD; SNAP=.snap17g; source bench/call_env.sh
for p in 1 2 3; do
  for t in 17g 17e; do
    (cd $R/.snap$t && PYTHONPATH=$PWD:$PYTHONPATH CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a timeout 100 python3 -m bench.decode_host \
        --device cuda --reps 1000 --rounds 4 > "$OUT/r/host_${t}_p$p.log" 2>&1)
    log "decode_host $t process $p rc=$? $(el)"; grep -E "^(plan|run|c_call)" "$OUT/r/host_${t}_p$p.log" | tee -a "$OUT/main.log"
  done
done
uptime | tee -a "$OUT/main.log"
tar -cJf "$OUT/call7.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
