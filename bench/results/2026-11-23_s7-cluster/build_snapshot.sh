#!/bin/bash
# Session 7 s7-cluster: the snapshot and artifact directories that next_call.sh needs, built on the CPU host (no GPU).
#   bash bench/results/2026-11-23_s7-cluster/build_snapshot.sh [DEST] [COMMIT]
# DEST: default /work/main/.snap-s7-cluster (carry it as ".snap-s7-cluster" with ".kit"); COMMIT: default HEAD of the
# checkout this script runs from. J=2 by default (24 variants).
#   build/cl    every dense prefill_{bf16,fp16}_* variant with CUTE_ATTN_PREFILL_CLUSTER=2 (the switch changes only the
#               two hd128 non-causal ones: 2-CTA clusters with K/V multicast; the other 16 are main's PTX) + the merge_*
#               kernels (test_gpu_prefill's LSE merge test): the GPU tests run against it (CUTE_ATTN_ARTIFACTS, with
#               the switch also set at plan time), A/B build cl
#   ab/base     the A/B's bf16 hd128 variants (both masks) with the switch off (PTX identical to main's)
# KEEP_PTX=DIR: the cl build keeps its PTX, moved out of the snapshot to DIR.
# The manifest's compile key does not contain the env var: every switched build is --force into its own directory.
set -eu
SRC=$(git rev-parse --show-toplevel)
DEST=${1:-/work/main/.snap-s7-cluster}
COMMIT=${2:-HEAD}
J=${J:-2}
rm -rf "$DEST" && mkdir -p "$DEST"
git -C "$SRC" archive "$COMMIT" | tar -x -C "$DEST"
# the snapshot keeps only this session's results folder (the device runs next_call.sh from it)
find "$DEST/bench/results" -mindepth 1 -maxdepth 1 ! -name 2026-11-23_s7-cluster -exec rm -rf {} +
cd "$DEST"
export PYTHONPATH=$DEST${PYTHONPATH:+:$PYTHONPATH}
unset CUTE_ATTN_PREFILL_CLUSTER CUTE_ATTN_PREFILL_CLUSTER_CTAS
B="python3 -m cute_attn.build -j $J --force"
CUTE_ATTN_PREFILL_CLUSTER=2 $B --out build/cl --only 'prefill_bf16_*' --only 'prefill_fp16_*' --only 'merge_*' \
    ${KEEP_PTX:+--keep-ptx}
if [ -n "${KEEP_PTX:-}" ]; then
  mkdir -p "$KEEP_PTX" && mv build/cl/*.ptx "$KEEP_PTX"/ && rm -rf build/cl/.dump
fi
$B --out ab/base --only 'prefill_bf16_headdim128_headdimv128_*'
du -sh "$DEST" build/cl ab/base
