#!/bin/bash
# Session 9 s9-ibox: the snapshot and artifact directories that next_call.sh needs, built on the CPU host (no GPU).
#   bash bench/results/2026-11-23_s9-s9-ibox/build_snapshot.sh [DEST] [COMMIT]
# DEST: default /work/main/.snap-s9-ibox (carry it as ".snap-s9-ibox" with ".kit"); COMMIT: default HEAD of the
# checkout this script runs from. J=1 by default (60 variants, ~10-12 min on the shared cores; J=2 about halves it).
#   build/artifacts/sm_90a  the switch unset: every prefill_* variant (18 dense + 30 paged; PTX identical to main's):
#                           the tests' dense comparisons and unswitched paths, the A/B's dense and its "base"
#   ibox                    CUTE_ATTN_PAGED_KV_INTERLEAVE=1: the 12 switched variants (paged hd128 box 16 / 64 and
#                           hd256 box 16, bf16 + fp16, causal + full): the GPU tests, the A/B's "ibox"
# KEEP_PTX=DIR: the ibox build keeps its PTX, moved out of the snapshot to DIR.
# The manifest's compile key does not contain the env var: the switched build is --force into its own directory.
set -eu
SRC=$(git rev-parse --show-toplevel)
DEST=${1:-/work/main/.snap-s9-ibox}
COMMIT=${2:-HEAD}
J=${J:-1}
bash "$SRC/bench/snapshot.sh" "$DEST" "$COMMIT" 2026-11-23_s9-s9-ibox
cd "$DEST"
export PYTHONPATH=$DEST${PYTHONPATH:+:$PYTHONPATH}
unset CUTE_ATTN_PAGED_KV_INTERLEAVE CUTE_ATTN_PAGED_TRIM CUTE_ATTN_PAGED_TMA_STORE_O CUTE_ATTN_PREFILL_TRACE \
    CUTE_ATTN_PREFILL_KV_BOX_ROWS CUTE_ATTN_PREFILL_SET
B="python3 -m cute_attn.build -j $J --force"
CUTE_ATTN_PAGED_KV_INTERLEAVE=1 $B --out ibox --only 'prefill_paged_*_headdim128_*_tmaboxrows16_*' \
    --only 'prefill_paged_*_headdim128_*_tmaboxrows64_*' --only 'prefill_paged_*_headdim256_*_tmaboxrows16_*' \
    ${KEEP_PTX:+--keep-ptx}
if [ -n "${KEEP_PTX:-}" ]; then
  mkdir -p "$KEEP_PTX" && mv ibox/*.ptx "$KEEP_PTX"/
fi
$B --only 'prefill_*'
rm -rf ibox/.dump build/artifacts/sm_90a/.dump
du -sh "$DEST" ibox build/artifacts/sm_90a
