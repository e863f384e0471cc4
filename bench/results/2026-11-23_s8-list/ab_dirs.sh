#!/bin/bash
# The A/B's two copies of the snapshot's build (one library per build object): ab_dirs.sh SNAPSHOT
set -eu
S=${1:?usage: ab_dirs.sh SNAPSHOT}
rm -rf "$S/ab" && mkdir -p "$S/ab"
cp -r "$S/build/artifacts/sm_90a" "$S/ab/ser"
cp -r "$S/build/artifacts/sm_90a" "$S/ab/best"
du -sh "$S"
