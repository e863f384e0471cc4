#!/bin/bash
# usage: cmp.sh DIR_A DIR_B  -> identical/different count of *.ptx present in both, // lines stripped
a=$1; b=$2; same=0; diff=0; miss=0
for f in $a/*.ptx; do n=$(basename $f); if [ ! -f $b/$n ]; then miss=$((miss+1)); echo "missing $n"; continue; fi
  if cmp -s <(grep -v '^\s*//' $f) <(grep -v '^\s*//' $b/$n); then same=$((same+1)); else diff=$((diff+1)); echo "DIFF $n"; fi; done
echo "identical $same different $diff missing $miss"
