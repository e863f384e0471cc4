#!/bin/bash
# Session 11 call 8 (device): ncu sections on the memory side, dense vs paged pages 1 / 16 (4 x 4k hd128 causal, one
# launch each): L1TEX / shared-memory / LSU and tensor-pipe figures for NEXT-SESSION lever 1.
#   carry [".kit", ".snap"]; source .kit/unpack.sh .kit >/dev/null && S=.snap bash bench/results/2026-11-24_s11/call8.sh
set -u
cd "${S:-.snap}"
export PYTHONPATH=$PWD:$PYTHONPATH PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; W=/tmp/w8; mkdir -p $W
NV="--nvtx-include dense/ --nvtx-include cur_page1/ --nvtx-include cur_page16/"
timeout 240 ncu --clock-control none --nvtx $NV --section SpeedOfLight --section ComputeWorkloadAnalysis \
    --section MemoryWorkloadAnalysis --section MemoryWorkloadAnalysis_Tables --section InstructionStats \
    -o $W/prof python3 -m bench.prefill_paged_ab --variant cur=$CUTE_ATTN_ARTIFACTS --pages 1,16 --profile \
    > $OUT/ncu_run.log 2>&1
echo "ncu rc=$?"; tail -2 $OUT/ncu_run.log
timeout 30 ncu -i $W/prof.ncu-rep --page details > $OUT/ncu_details.txt 2>&1
timeout 30 ncu -i $W/prof.ncu-rep --page raw --csv > $W/raw.csv 2>&1; gzip -c $W/raw.csv > $OUT/ncu_raw.csv.gz
grep -E '<0,|Elapsed Cycles|Shared|L1/TEX|LSU|Tensor|Pipe|Wavefront|Bank|MIO|Issue Slots|Mem Busy|Max Bandwidth|L2 Hit' $OUT/ncu_details.txt | head -120
