#!/bin/bash
# Session 16 call 9 (device): ncu of the tree's dense, page-16 and page-64 kernels, 4 x 4k hd128 causal, one launch
# each: source counters (per-instruction stall samples) for the producer's UTMALDG / barrier / shuffle instructions,
# warp states, speed of light (NOTES-prefill-paged 37: why a paged UTMALDG takes ~450 cycles against dense's ~85).
#   carry [".kit", ".snap16f"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s16/call9.sh
set -u
R=$PWD; SNAP=.snap16f; source bench/call_env.sh
W=/tmp/w; mkdir -p $W
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 300 ncu --clock-control none --nvtx --nvtx-include "dense/" --nvtx-include "tree_page16/" --nvtx-include "tree_page64/" \
    --section SpeedOfLight --section WarpStateStats --section SourceCounters --section SchedulerStats \
    -o $W/prof python3 -m bench.prefill_paged_ab --variant tree=$CUTE_ATTN_ARTIFACTS --pages 16,64 --profile \
    > $OUT/ncu_run.log 2>&1
log "ncu rc=$? $(el)"; tail -4 $OUT/ncu_run.log
timeout 60 ncu -i $W/prof.ncu-rep --page details > $OUT/ncu_details.txt 2>&1
grep -E '<0,|Elapsed Cycles|Duration|Issue Slots Busy|Warp Cycles Per Issued|No Eligible' $OUT/ncu_details.txt | head -40 | tee -a "$OUT/main.log"
timeout 60 ncu -i $W/prof.ncu-rep --page source --csv --print-source sass > $W/ncu_sass.csv 2>&1
log "sass export rc=$? $(wc -c < $W/ncu_sass.csv)"
python3 $R/bench/results/2026-11-24_s16/ncu_tma.py $W/ncu_sass.csv 2>&1 | tee $OUT/tma.txt | tee -a "$OUT/main.log"
python3 $R/bench/results/2026-11-23_s7-paged-box/ncu_roles.py $W/ncu_sass.csv $OUT/ncu_details.txt 2>&1 | tee $OUT/roles.txt | head -30
gzip -c $W/ncu_sass.csv > $OUT/ncu_sass.csv.gz
log "total $(el)"
