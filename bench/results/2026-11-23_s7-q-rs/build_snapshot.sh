#!/bin/bash
# Session 7 q-rs: the snapshot and artifact directories that next_call.sh needs, built on the CPU host (no GPU).
#   bash bench/results/2026-11-23_s7-q-rs/build_snapshot.sh [DEST] [COMMIT]
# DEST: default /work/main/.snap-s7-q-rs (carry it as ".snap-s7-q-rs" with ".kit"); COMMIT: default HEAD of the
# checkout this script runs from. J=2 by default (~5 min on 2 cores, 64 variants).
#   build/qrs   every prefill_* variant (dense + paged, bf16 + fp16, every head dim: hd192 / hd256 and hd64 non-causal
#               192 x 128 unchanged by the switch) with CUTE_ATTN_PREFILL_Q_RS=1 + the merge_* kernels
#               (switch-independent; test_gpu_prefill's LSE merge test needs them): the GPU tests run against it
#               (CUTE_ATTN_ARTIFACTS), A/B build qrs
#   ab/base     the A/B's bf16 dense hd64 / hd128 variants with the switch off (PTX identical to main's): hd64 causal
#               (table 192 x 112 and short 128 x 128 tiles), hd64 non-causal, hd128 both masks
#   ab/ctl      the same 5 variants with CUTE_ATTN_PREFILL_Q_RS=ctl: hd128 without the double-buffered P, Q still
#               read from shared memory (the control for the double-P loss that qrs carries at hd128); its hd64
#               variants are base's (PTX identical: a second base, the noise floor)
#   ab/half     the same 5 variants with CUTE_ATTN_PREFILL_Q_RS=half: hd128 with Q's first 4 k-blocks in registers and
#               the double-buffered P kept (hd64 = base)
# KEEP_PTX=DIR: the qrs build keeps its PTX, moved out of the snapshot to DIR (for the spill report).
# The manifest's compile key does not contain the env var: every switched build is --force into its own directory.
set -eu
SRC=$(git rev-parse --show-toplevel)
DEST=${1:-/work/main/.snap-s7-q-rs}
COMMIT=${2:-HEAD}
J=${J:-2}
rm -rf "$DEST" && mkdir -p "$DEST"
git -C "$SRC" archive "$COMMIT" | tar -x -C "$DEST"
# the snapshot keeps only this session's results folder (the device runs next_call.sh from it)
find "$DEST/bench/results" -mindepth 1 -maxdepth 1 ! -name 2026-11-23_s7-q-rs -exec rm -rf {} +
cd "$DEST"
export PYTHONPATH=$DEST${PYTHONPATH:+:$PYTHONPATH}
unset CUTE_ATTN_PREFILL_Q_RS
B="python3 -m cute_attn.build -j $J --force"
AB=(--only 'prefill_bf16_headdim64_headdimv64_*' --only 'prefill_bf16_headdim128_headdimv128_*')
CUTE_ATTN_PREFILL_Q_RS=1 $B --out build/qrs --only 'prefill_*' --only 'merge_*' ${KEEP_PTX:+--keep-ptx}
if [ -n "${KEEP_PTX:-}" ]; then
  mkdir -p "$KEEP_PTX" && mv build/qrs/*.ptx "$KEEP_PTX"/ && rm -rf build/qrs/.dump
fi
$B --out ab/base "${AB[@]}"
CUTE_ATTN_PREFILL_Q_RS=ctl $B --out ab/ctl "${AB[@]}"
CUTE_ATTN_PREFILL_Q_RS=half $B --out ab/half "${AB[@]}"
du -sh "$DEST" build/qrs ab/base ab/ctl ab/half
