#!/bin/bash
# Session 14 call 9 (device): cluster co-residency at the 3-stage decode variant's shared memory (~113 KB):
# bench/cluster_probe.py at 110-114 KB, cluster sizes 8 and 16, 128 CTAs.
#   carry [".kit", ".snap14e"]; source .kit/unpack.sh .kit >/dev/null && bash .snap14e/bench/results/2026-11-24_s14/call9.sh
set -u
cd .snap14e
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
for kb in 110 112 113 114; do
  timeout 60 python3 -m bench.cluster_probe --cubin build/cluster_probe.cubin --smem-kb $kb --ctas 128 --sizes 1 8 16 2>&1 | tee -a "$OUT/main.log"
done
