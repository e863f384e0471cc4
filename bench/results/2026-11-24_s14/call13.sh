#!/bin/bash
# Session 14 call 13 (device): the final tree (.snap14k: 82dd519's kernels but for decode_sm90.py's removed-switch list,
# decode PTX identical) as a whole: every GPU test.
#   carry [".kit", ".snap14k"]; source .kit/unpack.sh .kit >/dev/null && bash .snap14k/bench/results/2026-11-24_s14/call13.sh
set -u
cd .snap14k
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
nvidia-smi --query-gpu=name,driver_version --format=csv | tee "$OUT/main.log"
timeout 220 python3 -m pytest -m gpu tests -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
echo "tests rc=$?" | tee -a "$OUT/main.log"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -8 | tee -a "$OUT/main.log"
tar -cJf "$OUT/call13.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
