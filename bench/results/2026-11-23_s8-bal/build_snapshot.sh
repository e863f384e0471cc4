#!/bin/bash
# Session 8 s8-bal snapshot (CPU host, ~5 s: no compile). The kernels are those of 5d3770a (session 7's final tree,
# unchanged since): ab/base = the full build of .snap (bench/snapshot.sh .snap 5d3770a + cute_attn.build -j 2),
# ab/cl = .snap-s7-cluster's CUTE_ATTN_PREFILL_CLUSTER=2 build. Usage: build_snapshot.sh DEST [COMMIT]
set -eu
DEST=${1:?usage: build_snapshot.sh DEST [COMMIT]}
ROOT=$(git rev-parse --show-toplevel)
bash "$ROOT/bench/snapshot.sh" "$DEST" "${2:-HEAD}" 2026-11-23_s8-bal
mkdir -p "$DEST/ab"
cp -r "$ROOT/.snap/build/artifacts/sm_90a" "$DEST/ab/base"
cp -r "$DEST/ab/base" "$DEST/ab/bal"
cp -r "$ROOT/.snap-s7-cluster/build/cl" "$DEST/ab/cl"
cp -r "$DEST/ab/cl" "$DEST/ab/clbal"
du -sh "$DEST"
