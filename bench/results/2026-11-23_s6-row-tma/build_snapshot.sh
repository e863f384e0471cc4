#!/bin/bash
# Session 6 paged-row-tma: the snapshot and artifact directories that next_call.sh needs, built on the CPU host (no GPU).
#   bash bench/results/2026-11-23_s6-row-tma/build_snapshot.sh [DEST] [COMMIT]
# DEST: default /work/main/.snap-row-tma (carry it as ".snap-row-tma" with ".kit"); COMMIT: default HEAD of the
# checkout this script runs from. J=2 by default; SKIP_FULL=1 builds only ab/ (the CPU dry run of next_call.sh).
#   build/artifacts/sm_90a  every prefill_* variant (dense + paged, bf16 + fp16) with CUTE_ATTN_PAGED_ROW_TMA=1: the 48
#                           of main plus the 12 tmaboxrows1 (page 1 by 1-row TMA boxes); the GPU tests run against it
#                           (the switch does not change any other variant: PTX identical, NOTES-prefill-paged 17)
#   rowasm                  the 12 tmaboxrows1 variants with CUTE_ATTN_PAGED_ROW_TMA=asm (hand-issued boxes); the GPU
#                           tests of that form run with CUTE_ATTN_ARTIFACTS pointing here (dense etc. from the above)
#   ab/main                 hd128 causal bf16 paged gathers (tmaboxrows0), switch off: main's page-1 kernel
#   ab/row                  hd128 causal bf16 tmaboxrows1, CUTE_ATTN_PAGED_ROW_TMA=1 (boxes through cute.copy)
#   ab/rowasm               the same with CUTE_ATTN_PAGED_ROW_TMA=asm (one inline-asm statement per row)
# The manifest's compile key does not contain the env var: every build is --force into its own directory.
set -eu
SRC=$(git rev-parse --show-toplevel)
DEST=${1:-/work/main/.snap-row-tma}
COMMIT=${2:-HEAD}
J=${J:-2}
rm -rf "$DEST" && mkdir -p "$DEST"
git -C "$SRC" archive "$COMMIT" | tar -x -C "$DEST"
# the snapshot keeps only this session's results folder (the device runs next_call.sh from it)
find "$DEST/bench/results" -mindepth 1 -maxdepth 1 ! -name 2026-11-23_s6-row-tma -exec rm -rf {} +
cd "$DEST"
export PYTHONPATH=$DEST${PYTHONPATH:+:$PYTHONPATH}
B="python3 -m cute_attn.build -j $J --force"
V=prefill_paged_bf16_headdim128_headdimv128_causal
if [ "${SKIP_FULL:-0}" != 1 ]; then
  env CUTE_ATTN_PAGED_ROW_TMA=1 $B --only 'prefill_*'
  env CUTE_ATTN_PAGED_ROW_TMA=asm $B --out rowasm --only 'prefill_paged_*_tmaboxrows1_*'
fi
env CUTE_ATTN_PAGED_ROW_TMA=0 $B --out ab/main --only "${V}_tmaboxrows0_sm90a"
env CUTE_ATTN_PAGED_ROW_TMA=1 $B --out ab/row --only "${V}_tmaboxrows1_sm90a"
env CUTE_ATTN_PAGED_ROW_TMA=asm $B --out ab/rowasm --only "${V}_tmaboxrows1_sm90a"
du -sh "$DEST" ab
