#!/bin/bash
# Session 5 paged-k3: the snapshot and artifact directories that next_call.sh needs, built on the CPU host (no GPU).
#   bash bench/results/2026-11-23_s5-paged-k3/build_snapshot.sh [DEST] [COMMIT]
# DEST: default /work/main/.snap-paged-k3 (carry it as ".snap-paged-k3" with ".kit"); COMMIT: default HEAD of the
# checkout this script runs from. ~6-8 min on 2 cores (~60 variants), ~7 MB.
#   build/artifacts/sm_90a  every prefill_* variant (dense + paged, bf16 + fp16) with ALL switches on:
#                           CUTE_ATTN_PAGED_K3=gather,box CUTE_ATTN_PAGED_TRIM=1 CUTE_ATTN_PAGED_TMA_STORE_O=1 (the GPU
#                           tests run against it; A/B build d). The dense kernels do not read the switches.
#   ab/{a,b,c,e}            hd128 causal bf16 paged kernels (box 0 / 16 / 64): a = switches off (main's kernels:
#                           PTX identical), b = CUTE_ATTN_PAGED_K3=gather,box (K two blocks ahead of V), e = the same
#                           with CUTE_ATTN_PAGED_K3_LEAD=1 (K3 in the dense order), c = TRIM + TMA_STORE_O
#   build/trace-a, trace-b  CUTE_ATTN_PREFILL_TRACE=1 builds of the hd128 causal bf16 dense + gather (box 0) kernels:
#                           a = switches off, b = CUTE_ATTN_PAGED_K3=gather (lead 2)
# The manifest's compile key does not contain the env vars: every switched build is --force into its own directory.
set -eu
SRC=$(git rev-parse --show-toplevel)
DEST=${1:-/work/main/.snap-paged-k3}
COMMIT=${2:-HEAD}
J=${J:-2}
rm -rf "$DEST" && mkdir -p "$DEST"
git -C "$SRC" archive "$COMMIT" | tar -x -C "$DEST"
# the snapshot keeps only this session's results folder (the device runs next_call.sh from it)
find "$DEST/bench/results" -mindepth 1 -maxdepth 1 ! -name 2026-11-23_s5-paged-k3 -exec rm -rf {} +
cd "$DEST"
export PYTHONPATH=$DEST${PYTHONPATH:+:$PYTHONPATH}
B="python3 -m cute_attn.build -j $J --force"
PAGED='prefill_paged_bf16_headdim128_headdimv128_causal_tmaboxrows*'
ALL="CUTE_ATTN_PAGED_K3=gather,box CUTE_ATTN_PAGED_TRIM=1 CUTE_ATTN_PAGED_TMA_STORE_O=1"
env $ALL $B --only 'prefill_*'
$B --out ab/a --only "$PAGED"
env CUTE_ATTN_PAGED_K3=gather,box $B --out ab/b --only "$PAGED"
env CUTE_ATTN_PAGED_K3=gather,box CUTE_ATTN_PAGED_K3_LEAD=1 $B --out ab/e --only "$PAGED"
env CUTE_ATTN_PAGED_TRIM=1 CUTE_ATTN_PAGED_TMA_STORE_O=1 $B --out ab/c --only "$PAGED"
TR=(--only 'prefill_bf16_headdim128_headdimv128_causal_sm90a' --only 'prefill_paged_bf16_headdim128_headdimv128_causal_tmaboxrows0_sm90a')
env CUTE_ATTN_PREFILL_TRACE=1 $B --out build/trace-a "${TR[@]}"
env CUTE_ATTN_PREFILL_TRACE=1 CUTE_ATTN_PAGED_K3=gather $B --out build/trace-b "${TR[@]}"
du -sh "$DEST" build/artifacts/sm_90a ab build/trace-a build/trace-b
