# Session 11 s11-qdb: CUTE_ATTN_DECODE_Q_DB=1 (Q double buffer across work items; kernels/decode_sm90.py,
# bench/NOTES-decode.md "Session 11 (s11-qdb)"). NOT RUN on the CPU box (no GPU there).
# Device call from /work/main's root, carry [".kit", ".snap-s11-qdb", ".ab-s11"], timeout_s 200, kind nvidia-h100-x1:
#   source .kit/unpack.sh .kit >/dev/null && bash .snap-s11-qdb/bench/results/2026-11-24_s11-qdb/next_call.sh
# Needs (built on the CPU box; ~1.3 MB together):
#   .snap-s11-qdb           git archive of branch s11-qdb (no build in it: the tests must import the decode source the
#                           artifacts were built from, else the manifest calls them stale)
#   .ab-s11/qdb-full        CUTE_ATTN_DECODE_Q_DB=1 python3 -m cute_attn.build -j 1 --only 'decode*' --out ...
#                           (6 decode variants + the compiled planners; the GPU tests run on it)
#   .ab-s11/qdb             CUTE_ATTN_DECODE_Q_DB=1 bench/decode_build_tagged.py qdb  (decode_..__qdb.so)
#   .ab-s11/tags            PYTHONPATH=<main> bench/decode_build_tagged.py main       (decode_..__main.so, the lead's)
# Override with QDB_FULL / QDB_TAG / MAIN_TAG. Steps (~110-130 s of python):
# 0. guard: every decode variant resolves to QDB_FULL (status ok) and both tagged .so exist; stops otherwise.
# 1. decode GPU tests on the Q_DB build (46 tests; their plans on the H100 hold 1,106 item transitions, 119 out of
#    items without tiles, ~250 out of / into split parts: transitions.txt), ~40-50 s.
# 2. one-process A/B main vs qdb (outputs checked against main's: must be bit-identical), 5 cases x pages 16 / 1,
#    zero flush, rounds alternating the order until 60 s (~8 rounds).
set -u
S=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)   # the snapshot root
AB=$(cd "$S/.." && pwd)/.ab-s11
QDB_FULL=${QDB_FULL:-$AB/qdb-full}
QDB_TAG=${QDB_TAG:-$AB/qdb}
MAIN_TAG=${MAIN_TAG:-$AB/tags}
OUT=${OUT:-/tmp/s11-qdb-out}
mkdir -p "$OUT"
cd "$S"
export PYTHONPATH=$S:${PYTHONPATH:-}
export CUTE_ATTN_CACHE=$(mktemp -d)   # no JIT-cached kernel can stand in for a missing / stale artifact
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader 2>&1 | tee $OUT/env.txt
T0=$(date +%s)
CUTE_ATTN_ARTIFACTS=$QDB_FULL python3 - "$QDB_FULL" "$QDB_TAG" "$MAIN_TAG" <<'EOF' 2>&1 | tee $OUT/guard.txt
import os, sys
from cute_attn import artifacts as A
from cute_attn.specs import shipped_specs
full, qdb, main = (os.path.abspath(p) for p in sys.argv[1:4])
bad = []
for s in shipped_specs("sm_90a", ("decode",)):
    path, seen = A.find_artifact(s)
    if path is None or os.path.dirname(os.path.abspath(path)) != full:
        bad.append(f"{s.name}: {path} {seen}")
for d, tag in ((qdb, "qdb"), (main, "main")):
    if not os.path.isfile(os.path.join(d, f"decode_bf16_headdim128_sm90a__{tag}.so")):
        bad.append(f"no decode_bf16_headdim128_sm90a__{tag}.so in {d}")
print("guard:", "ok" if not bad else "FAILED\n" + "\n".join(bad))
sys.exit(1 if bad else 0)
EOF
if [ "${PIPESTATUS[0]}" != 0 ]; then echo "guard failed: nothing run"; exit 1; fi
TO=$(python3 -c "import pytest_timeout" 2>/dev/null && echo --timeout=60)
CUTE_ATTN_ARTIFACTS=$QDB_FULL timeout 120 python3 -m pytest -m gpu tests/test_gpu_decode.py -q -rs $TO \
    -p no:cacheprovider > $OUT/gpu_tests_qdb.log 2>&1
echo "gpu tests (Q_DB=1 build) rc=$? $(( $(date +%s) - T0 )) s: $(tail -1 $OUT/gpu_tests_qdb.log)"
grep -E "^(FAILED|ERROR)" $OUT/gpu_tests_qdb.log | head
(cd /tmp && CUTE_ATTN_ARTIFACTS=$QDB_FULL timeout 110 python3 "$S/bench/decode_multi_build.py" \
    --builds main=$MAIN_TAG qdb=$QDB_TAG \
    --cases "128 x 1k" "64 x 4k" "skewed 1 x 32k + 63 x 512" "16 x 16k" "1 x 32k" --pages 16 1 --flush zero \
    --rounds 8 --rep-ms 60 --budget-s 60 --json $OUT/ab.json > $OUT/ab.log 2>&1)
echo "ab rc=$? $(( $(date +%s) - T0 )) s"
grep '"check"' $OUT/ab.log
grep -v '^{' $OUT/ab.log | tail -20
ls -la $OUT
