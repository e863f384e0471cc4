#!/bin/bash
# Session 5 paged-box: the snapshot and artifact directories that next_call.sh needs, built on the CPU host (no GPU).
#   bash bench/results/2026-11-23_s5-paged-box/build_snapshot.sh [DEST] [COMMIT]
# DEST: default /work/main/.snap-paged-box (carry it as ".snap-paged-box" with ".kit"); COMMIT: default HEAD of the
# checkout this script runs from. ~10-12 min on 2 cores (48 + 3 x 2 variants), ~6 MB.
#   build/artifacts/sm_90a  every prefill_* variant (dense + paged, bf16 + fp16) with
#                           CUTE_ATTN_PAGED_BOX_LEAN=asm,stride,vfull (the GPU tests run against it). The dense kernels
#                           and the gather (box 0) kernels do not read the switch.
#   ab/a                    hd128 causal bf16 paged box 16 + box 64, switch off (main's kernels: PTX identical)
#   ab/b                    the same, CUTE_ATTN_PAGED_BOX_LEAN=asm,stride,vfull (the branch's candidate)
#   ab/c                    the same, CUTE_ATTN_PAGED_BOX_LEAN=asm,vfull (no stride: isolates the runtime box index,
#                           which paged-v7's BOX_STRIDED measured slower through cute.copy, NOTES 12.2)
# The manifest's compile key does not contain the env var: every switched build is --force into its own directory.
set -eu
SRC=$(git rev-parse --show-toplevel)
DEST=${1:-/work/main/.snap-paged-box}
COMMIT=${2:-HEAD}
J=${J:-2}
rm -rf "$DEST" && mkdir -p "$DEST"
git -C "$SRC" archive "$COMMIT" | tar -x -C "$DEST"
# the snapshot keeps only this session's results folder (the device runs next_call.sh from it)
find "$DEST/bench/results" -mindepth 1 -maxdepth 1 ! -name 2026-11-23_s5-paged-box -exec rm -rf {} +
cd "$DEST"
export PYTHONPATH=$DEST${PYTHONPATH:+:$PYTHONPATH}
B="python3 -m cute_attn.build -j $J --force"
BOX=(--only 'prefill_paged_bf16_headdim128_headdimv128_causal_tmaboxrows16_sm90a'
     --only 'prefill_paged_bf16_headdim128_headdimv128_causal_tmaboxrows64_sm90a')
env CUTE_ATTN_PAGED_BOX_LEAN=asm,stride,vfull $B --only 'prefill_*'
$B --out ab/a "${BOX[@]}"
env CUTE_ATTN_PAGED_BOX_LEAN=asm,stride,vfull $B --out ab/b "${BOX[@]}"
env CUTE_ATTN_PAGED_BOX_LEAN=asm,vfull $B --out ab/c "${BOX[@]}"
du -sh "$DEST" build/artifacts/sm_90a ab
