#!/bin/bash
# Static SASS figures of kept PTX files (CPU host): ptxas 13.0 (.version lowered to 9.0), nvdisasm; static UTMALDG
# count, the producer's loops (loops.py of 2026-11-23_s5-paged-box) and the consumer region's loops (cons.py of
# 2026-11-23_s7-paged-box).   NVDISASM=/path/to/nvdisasm bash sass_stats.sh X.ptx [Y.ptx ...]
set -eu
H=$(cd "$(dirname "$0")/.." && pwd)
NVDISASM=${NVDISASM:-nvdisasm}
T=$(mktemp -d)
for p in "$@"; do
  b=$T/$(basename "$p" .ptx)
  sed 's/^\.version .*/.version 9.0/' "$p" > "$b.ptx"
  ptxas -arch=sm_90a "$b.ptx" -o "$b.cubin"
  $NVDISASM -c "$b.cubin" | grep -E '^\s+/\*[0-9a-f]{4,}\*/|^\.L_x_[0-9]+:' > "$b.sass"
  echo "== $p: UTMALDG $(grep -c UTMALDG "$b.sass")"
  python3 "$H/2026-11-23_s5-paged-box/loops.py" "$b.sass"
  PYTHONPATH=$H/2026-11-23_s5-paged-box python3 "$H/2026-11-23_s7-paged-box/cons.py" "$b.sass" > "$b.cons"
  head -3 "$b.cons"
done
rm -rf "$T"
