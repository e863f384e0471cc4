#!/bin/bash
# A snapshot of the tree for a device call, made on the CPU host: `git archive COMMIT` into DEST (emptied first), with
# bench/results/ reduced to the folder KEEP (the one holding the call's scripts; none if omitted). The caller then
# builds into it, e.g. `(cd DEST && python3 -m cute_attn.build -j 2)`, and carries it as ".snap-<tag>" with ".kit".
#   bash bench/snapshot.sh DEST [COMMIT] [KEEP]
# (The build_snapshot.sh records under bench/results/ each repeat these lines; new ones should call this. The call
# script itself sources bench/call_env.sh for its common preamble.)
set -eu
DEST=${1:?usage: bench/snapshot.sh DEST [COMMIT] [KEEP]}
COMMIT=${2:-HEAD}
KEEP=${3:-}
SRC=$(git rev-parse --show-toplevel)
rm -rf "$DEST" && mkdir -p "$DEST"
git -C "$SRC" archive "$COMMIT" | tar -x -C "$DEST"
find "$DEST/bench/results" -mindepth 1 -maxdepth 1 ! -name "${KEEP:-.}" -exec rm -rf {} +
echo "$DEST: $(git -C "$SRC" rev-parse --short "$COMMIT")${KEEP:+, bench/results/$KEEP}"
