#!/bin/bash
# usage: cmp.sh DIR_A DIR_B  -> identical/different count of the *.ptx in DIR_B present in DIR_A, // lines stripped
a=$1; b=$2; same=0; diff=0; miss=0
for f in $b/*.ptx; do n=$(basename $f); if [ ! -f $a/$n ]; then miss=$((miss+1)); echo "missing $n"; continue; fi
  if cmp -s <(grep -v '^\s*//' $a/$n) <(grep -v '^\s*//' $f); then same=$((same+1)); else diff=$((diff+1)); echo "DIFF $n"; fi; done
echo "identical $same different $diff missing $miss"
