#!/bin/bash
# Session 11 call 6 (device): ncu of dense vs paged pages 1 / 16 / 64 (the final kernels), 4 x 4k hd128 causal, one
# launch each: cycles, per-sub-partition issue balance (max / avg of smsp__inst_executed and smsp__issue_active over
# all SMSPs: the producer warps sit on sub-partition 0, or on all four), warp-state and per-role stall samples.
#   carry [".kit", ".snap"]; source .kit/unpack.sh .kit >/dev/null && S=.snap bash bench/results/2026-11-24_s11/call6.sh
set -u
R=$PWD
cd "${S:-.snap}"
export PYTHONPATH=$PWD:$PYTHONPATH PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; W=/tmp/w; mkdir -p $W
NV="--nvtx-include dense/"; for p in 1 16 64; do NV="$NV --nvtx-include cur_page$p/"; done
M=smsp__inst_executed.max,smsp__inst_executed.avg,smsp__inst_executed.min,smsp__issue_active.max,smsp__issue_active.avg
M=$M,smsp__issue_active.min,sm__cycles_elapsed.max,sm__cycles_elapsed.avg,smsp__cycles_active.avg
timeout 200 ncu --clock-control none --nvtx $NV --section SpeedOfLight --section WarpStateStats --section SourceCounters \
    --metrics $M -o $W/prof python3 -m bench.prefill_paged_ab --variant cur=$CUTE_ATTN_ARTIFACTS --pages 1,16,64 \
    --profile > $OUT/ncu_run.log 2>&1
echo "ncu rc=$?"; tail -3 $OUT/ncu_run.log
timeout 30 ncu -i $W/prof.ncu-rep --page details > $OUT/ncu_details.txt 2>&1
grep -E '<0,|Elapsed Cycles|SM Frequency|smsp__inst_executed|smsp__issue_active|sm__cycles_elapsed|smsp__cycles_active|Warp Cycles Per Issued|Issue Slots Busy' $OUT/ncu_details.txt | head -80
timeout 40 ncu -i $W/prof.ncu-rep --page source --csv --print-source sass > $W/ncu_sass.csv 2>&1
echo "sass export rc=$? $(wc -c < $W/ncu_sass.csv)"
python3 $R/bench/results/2026-11-23_s7-paged-box/ncu_roles.py $W/ncu_sass.csv $OUT/ncu_details.txt 2>&1 | tee $OUT/roles.txt | head -60
gzip -c $W/ncu_sass.csv > $OUT/ncu_sass.csv.gz
