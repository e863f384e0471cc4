#!/bin/bash
# Session 17 call 5 (device): plan()'s host time on the GPU host, profiled (bench/results/2026-11-24_s17/plan_profile.py)
# on the tree of call 3 (.snap17e), two processes.
#   carry [".kit", ".snap17e"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s17/call5.sh
set -u
R=$PWD; SNAP=.snap17e; source bench/call_env.sh
for p in 1 2; do
  timeout 150 python3 $R/bench/results/2026-11-24_s17/plan_profile.py > "$OUT/r/profile_p$p.log" 2>&1
  log "profile process $p rc=$? $(el)"
done
cp $OUT/r/*.log $OUT/
uptime | tee -a "$OUT/main.log"; grep -m1 "model name" /proc/cpuinfo | tee -a "$OUT/main.log"
log "total $(el)"
