#!/bin/bash
# spills.sh DIR: ptxas 13.0 -v (PTX .version lowered to 9.0, as bench/results/2026-11-23_s5-paged-box/sass.sh) of every
# *_sm90a.ptx: spill stores / loads (bytes) per kernel
for p in $1/*_sm90a.ptx; do
  t=$(mktemp -d); sed 's/^\.version .*/.version 9.0/' "$p" > $t/x.ptx
  r=$(ptxas -arch=sm_90a -v $t/x.ptx -o $t/x.cubin 2>&1 | grep -E 'spill' | head -1 | sed 's/^ *//')
  echo "$(basename $p .ptx): $r"; rm -rf $t
done
