#!/bin/bash
# Session 14 call 5 (device): thread-block cluster co-residency (bench/cluster_probe.py; cubin assembled on the CPU
# host from bench/cluster_probe.ptx): max active clusters and a 128-CTA launch's start spread for cluster sizes
# 1-16 at 150 KB (the decode kernel's ~145 KB) and 100 KB of shared memory, 256 threads.
#   carry [".kit", ".snap14e"]; source .kit/unpack.sh .kit >/dev/null && bash .snap14e/bench/results/2026-11-24_s14/call5.sh
set -u
cd .snap14e
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
nvidia-smi --query-gpu=name,driver_version --format=csv | tee "$OUT/main.log"
for kb in 150 100; do
  timeout 60 python3 -m bench.cluster_probe --cubin build/cluster_probe.cubin --smem-kb $kb --ctas 128 2>&1 | tee -a "$OUT/main.log"
done
timeout 60 python3 -m bench.cluster_probe --cubin build/cluster_probe.cubin --smem-kb 150 --ctas 112 --sizes 8 16 2>&1 | tee -a "$OUT/main.log"
