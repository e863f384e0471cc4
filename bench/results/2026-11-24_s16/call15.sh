#!/bin/bash
# Session 16 call 15 (device): executed producer instructions (ncu source counters, one launch each, 4 x 4k hd128 causal)
# of the tree's page 16 / 64 kernels and of calls 3 / 8 / 11's builds (early, split, vtail-fast), to test NOTES-prefill-
# paged 40's model (the step grows with the producer's instructions per block on the busiest sub-partition).
#   carry [".kit", ".snap16f", ".ab16"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s16/call15.sh
set -u
R=$PWD; SNAP=.snap16f; source bench/call_env.sh
A=$R/.ab16
W=/tmp/w; mkdir -p $W
NV=""
for v in base early split vtfast; do for p in 16 64; do NV="$NV --nvtx-include ${v}_page$p/"; done; done
timeout 400 ncu --clock-control none --nvtx $NV --section SourceCounters --section SpeedOfLight -o $W/prof \
    python3 -m bench.prefill_paged_ab --variant base=$A/v_base --variant early=$A/v_early --variant split=$A/v_split \
    --variant vtfast=$A/vt_fast --pages 16,64 --profile > $OUT/ncu_run.log 2>&1
log "ncu rc=$? $(el)"; tail -3 $OUT/ncu_run.log
timeout 60 ncu -i $W/prof.ncu-rep --page details > $OUT/ncu_details.txt 2>&1
grep -E '<0,|Elapsed Cycles' $OUT/ncu_details.txt | tee -a "$OUT/main.log"
timeout 120 ncu -i $W/prof.ncu-rep --page source --csv --print-source sass > $W/ncu_sass.csv 2>&1
log "sass export rc=$? $(wc -c < $W/ncu_sass.csv)"
python3 $R/bench/results/2026-11-24_s16/ncu_tma.py $W/ncu_sass.csv 2>&1 | grep -E "^== |producer region" | tee $OUT/tma.txt | tee -a "$OUT/main.log"
gzip -c $W/ncu_sass.csv > $OUT/ncu_sass.csv.gz
log "total $(el)"
