#!/bin/bash
# Session 7 paged-box: the snapshot and artifact directories that next_call.sh needs, built on the CPU host (no GPU).
#   bash bench/results/2026-11-23_s7-paged-box/build_snapshot.sh [DEST] [COMMIT]
# DEST: default /work/main/.snap-s7-paged-box (carry it as ".snap-s7-paged-box" with ".kit"); COMMIT: default HEAD of
# the checkout this script runs from. 22 variants, ~4-6 min at J=2 on the shared cores, ~3 MB.
#   build/artifacts/sm_90a  the hd128 prefill_* variants (dense + paged, bf16 + fp16, causal + not, box 0 / 16 / 64:
#                           4 + 12) with CUTE_ATTN_PAGED_DOUBLE_P=all (the GPU tests and the A/B's "dp" build; the
#                           dense kernels do not read the switch)
#   ab/a                    hd128 causal bf16 paged box 0 / 16 / 64, switch off (main's kernels: PTX identical)
#   trace                   CUTE_ATTN_PREFILL_TRACE=1 (+ DOUBLE_P=all): dense hd128 causal bf16, paged box 16 / 64
# The manifest's compile key does not contain the env vars: every switched build is --force into its own directory.
set -eu
SRC=$(git rev-parse --show-toplevel)
DEST=${1:-/work/main/.snap-s7-paged-box}
COMMIT=${2:-HEAD}
J=${J:-2}
rm -rf "$DEST" && mkdir -p "$DEST"
git -C "$SRC" archive "$COMMIT" | tar -x -C "$DEST"
# the snapshot keeps only this session's results folder (the device runs next_call.sh from it)
find "$DEST/bench/results" -mindepth 1 -maxdepth 1 ! -name 2026-11-23_s7-paged-box -exec rm -rf {} +
cd "$DEST"
export PYTHONPATH=$DEST${PYTHONPATH:+:$PYTHONPATH}
unset CUTE_ATTN_PAGED_DOUBLE_P CUTE_ATTN_PREFILL_TRACE CUTE_ATTN_PAGED_ROW_TMA
B="python3 -m cute_attn.build -j $J --force"
C='prefill_paged_bf16_headdim128_headdimv128_causal_tmaboxrows'
env CUTE_ATTN_PAGED_DOUBLE_P=all $B --only 'prefill_*headdim128_headdimv128_*'
$B --out ab/a --only "${C}0_sm90a" --only "${C}16_sm90a" --only "${C}64_sm90a"
env CUTE_ATTN_PAGED_DOUBLE_P=all CUTE_ATTN_PREFILL_TRACE=1 $B --out trace --only "${C}16_sm90a" --only "${C}64_sm90a" \
    --only 'prefill_bf16_headdim128_headdimv128_causal_sm90a'
ls build/artifacts/sm_90a/*.so ab/a/*.so trace/*.so | wc -l
du -sh "$DEST" build/artifacts/sm_90a ab trace
