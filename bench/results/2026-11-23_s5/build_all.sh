#!/bin/bash
# Session 5: build, on the CPU box, the five snapshots the next session's device calls carry (NEXT-SESSION.md).
#   bash bench/results/2026-11-23_s5/build_all.sh [COMMIT [WHICH...]]   (~20 min on 2 cores; nothing else building)
# WHICH: any of main paged-k3 paged-box decode-host decode-fix (default: all five)
# .snap               main at COMMIT, every shipped variant (calls 1 and 4)
# .snap-paged-k3      the paged-k3 A/B snapshot (call 2; bench/results/2026-11-23_s5-paged-k3/build_snapshot.sh)
# .snap-paged-box     the paged BOX_LEAN A/B snapshot (call 6; bench/results/2026-11-23_s5-paged-box/build_snapshot.sh)
# .snap-decode-host   the decode host A/B snapshot (call 3; bench/results/2026-11-23_s5-decode-host/next_call.sh's header)
# .snap-decode-fix    the decode kernel A/B snapshot (call 5; bench/results/2026-11-23_s5-decode-fix/next_call.sh's header)
set -eu
ROOT=$(git rev-parse --show-toplevel)
COMMIT=${1:-HEAD}
shift || true
WHICH=${*:-main paged-k3 paged-box decode-host decode-fix}
want() { [[ " $WHICH " == *" $1 "* ]]; }
cd "$ROOT"
keep_only() {  # a snapshot keeps only the results folder its call script lives in
  find "$1/bench/results" -mindepth 1 -maxdepth 1 ! -name "$2" -exec rm -rf {} +
}
# 1. .snap
if want main; then
S=$ROOT/.snap
rm -rf "$S" && mkdir -p "$S" && git archive "$COMMIT" | tar -x -C "$S" && keep_only "$S" 2026-11-23_s5
(cd "$S" && PYTHONPATH=$S python3 -m cute_attn.build -j 2)
fi
# 2. .snap-paged-k3
if want paged-k3; then
bash bench/results/2026-11-23_s5-paged-k3/build_snapshot.sh "$ROOT/.snap-paged-k3" "$COMMIT"
fi
# 2b. .snap-paged-box
if want paged-box; then
bash bench/results/2026-11-23_s5-paged-box/build_snapshot.sh "$ROOT/.snap-paged-box" "$COMMIT"
fi
# 3. .snap-decode-host (its "before" is eb86397, session 4's final tree)
if want decode-host; then
S=$ROOT/.snap-decode-host
rm -rf "$S" && mkdir -p "$S/ref" && git archive "$COMMIT" | tar -x -C "$S" && keep_only "$S" 2026-11-23_s5-decode-host
git archive eb86397 cute_attn kernels layouts | tar -x -C "$S/ref"
cd "$S"
export PYTHONPATH=$S
python3 -m cute_attn.build -j 2 --only 'decode_*'
CUTE_ATTN_DECODE_PTR_ARGS=1 python3 -m cute_attn.build -j 2 --only 'decode_*' --out build/ptr/sm_90a
python3 bench/decode_build_tagged.py tensor build/tagged
CUTE_ATTN_DECODE_PTR_ARGS=1 python3 bench/decode_build_tagged.py ptr build/tagged
python3 -m bench.decode_ffi_cost --build build/ffi
(cd ref && PYTHONPATH=$S/ref python3 -m cute_attn.build --only no-kernel)
cd "$ROOT"
fi
# 4. .snap-decode-fix (bench/results/2026-11-23_s5-decode-fix/next_call.sh's header)
if want decode-fix; then
S=$ROOT/.snap-decode-fix
rm -rf "$S" && mkdir -p "$S" && git archive "$COMMIT" | tar -x -C "$S" && keep_only "$S" 2026-11-23_s5-decode-fix
cd "$S"
export PYTHONPATH=$S
ALL="CUTE_ATTN_DECODE_SPEC_ITEM=2 CUTE_ATTN_DECODE_EARLY_LOADS=1 CUTE_ATTN_DECODE_MERGE_MASKED=2 CUTE_ATTN_DECODE_MERGE_UNROLL=16"
env $ALL python3 -m cute_attn.build -j 2 --only 'decode*'
python3 bench/decode_build_tagged.py main build/ab
CUTE_ATTN_DECODE_SPEC_ITEM=2 python3 bench/decode_build_tagged.py spec2 build/ab
CUTE_ATTN_DECODE_MERGE_MASKED=1 CUTE_ATTN_DECODE_MERGE_UNROLL=16 python3 bench/decode_build_tagged.py masked build/ab
CUTE_ATTN_DECODE_MERGE_MASKED=2 CUTE_ATTN_DECODE_MERGE_UNROLL=16 python3 bench/decode_build_tagged.py masked2 build/ab
CUTE_ATTN_DECODE_SPEC_ITEM=2 CUTE_ATTN_DECODE_EARLY_LOADS=1 python3 bench/decode_build_tagged.py early build/ab
CUTE_ATTN_DECODE_TRACE=1 python3 -m cute_attn.build -j 2 --only 'decode_bf16_headdim128*' --out build/trace_main
env CUTE_ATTN_DECODE_TRACE=1 $ALL python3 -m cute_attn.build -j 2 --only 'decode_bf16_headdim128*' --out build/trace_all
cd "$ROOT"
fi
du -sh .kit .snap* 2>/dev/null
