#!/bin/bash
# Session 8 s8-box64: the snapshot and artifact directories that next_call.sh needs, built on the CPU host (no GPU).
#   bash bench/results/2026-11-23_s8-box64/build_snapshot.sh [DEST] [COMMIT]
# DEST: default /work/main/.snap-s8-box64 (carry it as ".snap-s8-box64" with ".kit"); COMMIT: default HEAD of the
# checkout this script runs from. J=1 by default (18 variants, ~3-4 min on the shared cores; J=2 halves it).
#   build/box64  CUTE_ATTN_PREFILL_KV_BOX_ROWS=64: the dense hd128 variants (bf16 + fp16, causal + full: K/V blocks as
#                2 TMA boxes of 64 rows) + the merge_* kernels (test_gpu_prefill's LSE merge test): GPU tests, A/B box64
#   build/box16  the same with =16 (8 boxes of 16 rows per block, all from producer warp 0): GPU tests, A/B box16
#   ab/base      the A/B's bf16 hd128 variants (both masks) with the switch unset (PTX identical to main's)
# KEEP_PTX=DIR: the box builds keep their PTX, moved out of the snapshot to DIR/box64, DIR/box16.
# The manifest's compile key does not contain the env var: every switched build is --force into its own directory.
set -eu
SRC=$(git rev-parse --show-toplevel)
DEST=${1:-/work/main/.snap-s8-box64}
COMMIT=${2:-HEAD}
J=${J:-1}
bash "$SRC/bench/snapshot.sh" "$DEST" "$COMMIT" 2026-11-23_s8-box64
cd "$DEST"
export PYTHONPATH=$DEST${PYTHONPATH:+:$PYTHONPATH}
unset CUTE_ATTN_PREFILL_KV_BOX_ROWS CUTE_ATTN_PREFILL_CLUSTER CUTE_ATTN_PREFILL_CLUSTER_CTAS CUTE_ATTN_PREFILL_CTAS \
    CUTE_ATTN_PREFILL_SCHEDULE CUTE_ATTN_PREFILL_TRACE
B="python3 -m cute_attn.build -j $J --force"
for R in 64 16; do
  CUTE_ATTN_PREFILL_KV_BOX_ROWS=$R $B --out build/box$R --only 'prefill_bf16_headdim128_headdimv128_*' \
      --only 'prefill_fp16_headdim128_headdimv128_*' --only 'merge_*' ${KEEP_PTX:+--keep-ptx}
  if [ -n "${KEEP_PTX:-}" ]; then
    mkdir -p "$KEEP_PTX/box$R" && mv build/box$R/*.ptx "$KEEP_PTX/box$R"/ && rm -rf build/box$R/.dump
  fi
done
$B --out ab/base --only 'prefill_bf16_headdim128_headdimv128_*'
rm -rf build/box64/.dump build/box16/.dump ab/base/.dump
du -sh "$DEST" build/box64 build/box16 ab/base
