#!/bin/bash
# Session 24 call 3 (device; run inline, recorded here): bench/placement_probe.py on bench/cluster_probe.ptx assembled on the
# CPU host (ptxas -arch=sm_90a -> .ab24probe/cluster_probe.cubin), 150 KB of shared memory, 256 threads.
#   carry [".kit", ".ab24probe"]
source .kit/unpack.sh .kit >/dev/null && export PYTHONPATH=$PWD:$PYTHONPATH && mkdir -p $OUT && python3 -m bench.placement_probe --cubin .ab24probe/cluster_probe.cubin --grids 64 120 126 127 128 129 130 131 132 --json $OUT/placement.json 2>&1 | tee $OUT/placement.log | cut -c1-1500
