#!/bin/bash
# usage: pv.sh FILE.ptx... -> ptxas -v summary per file (PTX .version lowered to 9.0 for ptxas 13.0)
for f in "$@"; do
  t=${TMPDIR:-/tmp}/_pv_$$.ptx
  sed 's/^\.version .*/.version 9.0/' "$f" > $t
  echo "$(basename $f .ptx): $(ptxas -arch=sm_90a -v $t -o ${TMPDIR:-/tmp}/_pv_$$.cubin 2>&1 | grep -E 'spill|Used' | tr '\n' ' ')"
  rm -f $t ${TMPDIR:-/tmp}/_pv_$$.cubin
done
