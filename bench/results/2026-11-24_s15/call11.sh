#!/bin/bash
# Session 15 call 11 (device): ncu of the tree's page-1 kernel and the OFF32B build (.ab15o/o32: the same consumer code,
# 3-8 % slower per clock in call 9), dense beside them, 4 x 4k hd128 causal, one launch each: source counters (per
# instruction stall samples), warp states, speed of light, issue balance (NOTES-prefill-paged 29's next step).
#   carry [".kit", ".snap15i", ".ab15o"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s15/call11.sh
set -u
R=$PWD
A=$R/.ab15o
cd .snap15i
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; W=/tmp/w; mkdir -p $W "$OUT"
M=smsp__inst_executed.max,smsp__inst_executed.avg,smsp__issue_active.max,smsp__issue_active.avg,sm__cycles_elapsed.max
timeout 300 ncu --clock-control none --nvtx --nvtx-include "dense/" --nvtx-include "tree_page1/" --nvtx-include "o32_page1/" \
    --section SpeedOfLight --section WarpStateStats --section SourceCounters --section MemoryWorkloadAnalysis \
    --metrics $M -o $W/prof python3 -m bench.prefill_paged_ab --variant tree=$CUTE_ATTN_ARTIFACTS --variant o32=$A/o32 \
    --pages 1 --profile > $OUT/ncu_run.log 2>&1
echo "ncu rc=$?"; tail -4 $OUT/ncu_run.log
timeout 60 ncu -i $W/prof.ncu-rep --page details > $OUT/ncu_details.txt 2>&1
grep -E '<0,|Elapsed Cycles|Duration|smsp__inst_executed|smsp__issue_active|Issue Slots Busy|Warp Cycles Per Issued' $OUT/ncu_details.txt | head -40
timeout 60 ncu -i $W/prof.ncu-rep --page source --csv --print-source sass > $W/ncu_sass.csv 2>&1
echo "sass export rc=$? $(wc -c < $W/ncu_sass.csv)"
python3 $R/bench/results/2026-11-23_s7-paged-box/ncu_roles.py $W/ncu_sass.csv $OUT/ncu_details.txt 2>&1 | tee $OUT/roles.txt | head -20
gzip -c $W/ncu_sass.csv > $OUT/ncu_sass.csv.gz
ls -la $OUT
