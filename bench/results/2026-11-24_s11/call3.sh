# Session 11 call 3: decode work items over 8 kv heads (CUTE_ATTN_DECODE_HEADS=8; NOTES-decode "Session 11 (lead):
# items of 8 kv heads"), then helper s11-qdb's Q double buffer (its own script).
# Carry [".kit", ".ab-s11", ".snap-s11-qdb"]; run from the repo root after `source .kit/unpack.sh .kit >/dev/null`.
set -u
R=$PWD
export PYTHONPATH=$R:${PYTHONPATH:-}
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader 2>&1 | tee $OUT/env.txt
T0=$(date +%s)
H=$R/.ab-s11/heads8-full
CUTE_ATTN_ARTIFACTS=$H python3 - "$H" <<'PY' 2>&1 | tee $OUT/guard_heads.txt
import os, sys
from cute_attn import artifacts as A
from cute_attn.specs import shipped_specs
bad = [s.name for s in shipped_specs("sm_90a", ("decode",))
       if (A.find_artifact(s)[0] is None or os.path.dirname(os.path.abspath(A.find_artifact(s)[0])) != sys.argv[1])]
print("guard heads8:", "ok" if not bad else "FAILED " + " ".join(bad))
PY
mkdir -p /tmp/jit-empty
CUTE_ATTN_DECODE_HEADS=8 CUTE_ATTN_ARTIFACTS=$H CUTE_ATTN_CACHE=/tmp/jit-empty timeout 150 python3 -m pytest -m gpu \
    tests/test_gpu_decode.py -q -rs -p no:cacheprovider > $OUT/gpu_tests_heads8.log 2>&1
echo "gpu tests (HEADS=8 build and plans) rc=$? $(( $(date +%s) - T0 )) s: $(tail -1 $OUT/gpu_tests_heads8.log)"
grep -E "^(FAILED|ERROR)" $OUT/gpu_tests_heads8.log | head -20
T=$R/.ab-s11/tags
(cd /tmp && CUTE_ATTN_ARTIFACTS=$R/.ab-s11/art timeout 150 python3 $R/bench/decode_multi_build.py --builds main=$T heads8=$T \
    --plans h8=heads8:HEADS=8 --plan-only heads8 \
    --cases "64 x 4k" "16 x 16k" "128 x 1k" "1 x 32k" "8 x 32k" "skewed 1 x 32k + 63 x 512" --pages 16 1 --flush zero \
    --rounds 6 --rep-ms 60 --budget-s 100 --json $OUT/heads_ab.json > $OUT/heads_ab.log 2>&1)
echo "heads A/B rc=$? $(( $(date +%s) - T0 )) s"
grep -E '"check"|"plan"' $OUT/heads_ab.log | head -14
grep -v '^{' $OUT/heads_ab.log | tail -22
# helper s11-qdb: GPU tests on its build, then main / qdb A/B (writes into $OUT)
OUT=$OUT bash $R/.snap-s11-qdb/bench/results/2026-11-24_s11-qdb/next_call.sh > $OUT/qdb_call.log 2>&1
echo "qdb script rc=$? $(( $(date +%s) - T0 )) s"
grep -vE '^-|^total|^d' $OUT/qdb_call.log | tail -30
(cd $OUT && tar -cJf all.tar.xz $(ls | grep -v all.tar.xz) && find . -type f ! -name all.tar.xz -delete; ls -la $OUT)
