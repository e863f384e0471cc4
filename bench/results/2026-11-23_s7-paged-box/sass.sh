#!/bin/bash
# SASS of a kept PTX (CPU host): ptxas 13.0 with .version lowered to 9.0, spill report, nvdisasm -> X.sass (labels
# kept). Then: python3 path.py X.sass WARP BOX_WARPS [v] (per-warp path through the box producer's key-block loop).
#   NVDISASM=/path/to/nvdisasm bash sass.sh X.ptx
p=$1; b=${p%.ptx}
NVDISASM=${NVDISASM:-nvdisasm}
sed 's/^\.version .*/.version 9.0/' "$p" > "$b.v9.ptx"
ptxas -arch=sm_90a -v "$b.v9.ptx" -o "$b.cubin" 2>&1 | grep -E 'spill' | head -2
$NVDISASM -c "$b.cubin" | grep -E '^\s+/\*[0-9a-f]{4,}\*/|^\.L_x_[0-9]+:' > "$b.sass"
