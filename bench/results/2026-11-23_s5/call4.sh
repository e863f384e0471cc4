# Session 5 -> next session, device call 4 (NOT RUN in session 5): Nsight Compute of the final prefill tree for
# issue 4's missed targets (hd128 causal / full 16k, hd128 / hd64 causal 16 x 1k), ours and cuDNN in one process,
# one launch each (bench/prefill_profile.py; sections as run 24, NOTES-prefill 13). Carry [".kit", ".snap"],
# timeout 300:  bash .snap/bench/results/2026-11-23_s5/call4.sh     Expected ~120-180 s.
source .kit/unpack.sh .kit >/dev/null
cd .snap
export PYTHONPATH=$PWD:$PYTHONPATH CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
timeout 240 ncu --clock-control none --nvtx --nvtx-include "ours/" --nvtx-include "cudnn/" \
    --section SpeedOfLight --section ComputeWorkloadAnalysis --section WarpStateStats --section SchedulerStats \
    --section MemoryWorkloadAnalysis --section SourceCounters -o /tmp/pf \
    python3 -m bench.prefill_profile > $OUT/ncu_run.log 2>&1
echo "ncu rc=$?"
timeout 30 ncu -i /tmp/pf.ncu-rep --page details > $OUT/ncu_details.txt 2>&1
timeout 30 ncu -i /tmp/pf.ncu-rep --page raw --csv 2>/dev/null | xz > $OUT/ncu_raw.csv.xz
timeout 40 ncu -i /tmp/pf.ncu-rep --page source --csv --print-source sass 2>/dev/null | gzip > $OUT/ncu_sass.csv.gz
awk '/<0,/{n=$0} /Elapsed Cycles/{e=$NF} /Duration/{d=$NF} /Warp Cycles Per Issued Instruction/{print n, "cycles", e, "dur", d, "cpi", $NF}' \
    $OUT/ncu_details.txt
ls -la $OUT
