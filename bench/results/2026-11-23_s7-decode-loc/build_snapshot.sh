# Build the device snapshot of branch s7-decode-loc on the CPU box (git-ignored /work/main/.snap-s7-decode-loc):
# the tree without the other bench/results dirs (history, ~6 MB) + the 6 decode variants and the compiled planner
# (default), the 6 variants with CUTE_ATTN_DECODE_NEXT_ITEM=1 (build/next) and the tagged hd128 pair (build/ab).
# Usage: bash bench/results/2026-11-23_s7-decode-loc/build_snapshot.sh [--no-build]
set -eu
S=/work/main/.snap-s7-decode-loc
W=/work/wt-s7-decode-loc
mkdir -p $S
git -C $W archive HEAD | tar -x -C $S
(cd $S/bench/results && for d in *; do [ "$d" = 2026-11-23_s7-decode-loc ] || rm -rf "$d"; done)
if [ "${1:-}" != --no-build ]; then
  cd $S
  python3 -m cute_attn.build -j 1 --only 'decode*'                                             # default (switch off)
  CUTE_ATTN_DECODE_NEXT_ITEM=1 python3 -m cute_attn.build -j 1 --only 'decode*' --out build/next/sm_90a
  PYTHONPATH=$S python3 bench/decode_build_tagged.py main build/ab
  CUTE_ATTN_DECODE_NEXT_ITEM=1 PYTHONPATH=$S python3 bench/decode_build_tagged.py next build/ab
fi
du -sh $S
