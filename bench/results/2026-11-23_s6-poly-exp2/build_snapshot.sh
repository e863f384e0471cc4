#!/bin/bash
# Session 6 poly-exp2: the snapshot and artifact directories that next_call.sh needs, built on the CPU host (no GPU).
#   bash bench/results/2026-11-23_s6-poly-exp2/build_snapshot.sh [DEST] [COMMIT]
# DEST: default /work/main/.snap-poly-exp2 (carry it as ".snap-poly-exp2" with ".kit"); COMMIT: default HEAD of the
# checkout this script runs from. ~6 min on 2 cores (72 variants), ~7 MB.
#   build/poly4   every prefill_* variant (dense + paged, bf16 + fp16, every head dim) with CUTE_ATTN_SOFTMAX_POLY_EXP2=4
#                 (every 4th P on the FMA pipe) + the merge_* kernels (switch-independent; test_gpu_prefill's LSE
#                 merge test needs them): the GPU tests run against it (CUTE_ATTN_ARTIFACTS), A/B build poly4
#   ab/base       the A/B's bf16 dense variants with the switch off (PTX identical to main's): hd64 causal (table
#                 192 x 112 and short 128 x 128 tiles), hd64 non-causal, hd128 both masks, hd256 non-causal
#   ab/poly8      the same 6 variants, CUTE_ATTN_SOFTMAX_POLY_EXP2=8 (every 8th P)
#   ab/poly2      the same 6 variants, CUTE_ATTN_SOFTMAX_POLY_EXP2=2 (every other P)
# The manifest's compile key does not contain the env var: every switched build is --force into its own directory.
set -eu
SRC=$(git rev-parse --show-toplevel)
DEST=${1:-/work/main/.snap-poly-exp2}
COMMIT=${2:-HEAD}
J=${J:-2}
rm -rf "$DEST" && mkdir -p "$DEST"
git -C "$SRC" archive "$COMMIT" | tar -x -C "$DEST"
# the snapshot keeps only this session's results folder (the device runs next_call.sh from it)
find "$DEST/bench/results" -mindepth 1 -maxdepth 1 ! -name 2026-11-23_s6-poly-exp2 -exec rm -rf {} +
cd "$DEST"
export PYTHONPATH=$DEST${PYTHONPATH:+:$PYTHONPATH}
unset CUTE_ATTN_SOFTMAX_POLY_EXP2
B="python3 -m cute_attn.build -j $J --force"
AB=(--only 'prefill_bf16_headdim64_headdimv64_*' --only 'prefill_bf16_headdim128_headdimv128_*'
    --only 'prefill_bf16_headdim256_headdimv256_nocausal_sm90a')
CUTE_ATTN_SOFTMAX_POLY_EXP2=4 $B --out build/poly4 --only 'prefill_*' --only 'merge_*'
$B --out ab/base "${AB[@]}"
CUTE_ATTN_SOFTMAX_POLY_EXP2=8 $B --out ab/poly8 "${AB[@]}"
CUTE_ATTN_SOFTMAX_POLY_EXP2=2 $B --out ab/poly2 "${AB[@]}"
du -sh "$DEST" build/poly4 ab/base ab/poly8 ab/poly2
