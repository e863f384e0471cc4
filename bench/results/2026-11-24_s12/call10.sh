#!/bin/bash
# Session 12 call 10 (call 9 with the gathered tiles tracked by the barrier, no producer wait): decode KV tiles as TMA boxes of 16 rows inside a page (CUTE_ATTN_DECODE_TMA=1; an item's last tile and
# unaligned items gathered): decode GPU tests on the switched build, then a one-process A/B (main / tma) at page 16.
# Carry [".kit", ".snap5", ".ab-s12"]; .snap5's decode_sm90.py is replaced by the tree's (the switch; default PTX equal).
set -u
R=$PWD
cp .snap5/kernels/decode_sm90.py /tmp/decode_sm90.orig.py
cp kernels/decode_sm90.py .snap5/kernels/decode_sm90.py
cd .snap5 && export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader 2>&1 | tee $OUT/env.txt
[ "${SKIP_TESTS:-0}" = 1 ] || CUTE_ATTN_ARTIFACTS=$R/.ab-s12/tma timeout 150 python3 -m pytest -m gpu tests/test_gpu_decode.py -q -rs --timeout=120 \
    -p no:cacheprovider > $OUT/tests_tma3.log 2>&1
echo "tests tma rc=$?"; grep -E "passed|failed|^FAILED|^ERROR" $OUT/tests_tma3.log | tail -5
cp /tmp/decode_sm90.orig.py kernels/decode_sm90.py  # the API's own artifacts (current again) bind the plan
export CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
T=$R/.ab-s12/tags
timeout 330 python3 bench/decode_multi_build.py --builds main=$T tma=$T \
    --cases "64 x 4k" "16 x 16k" "128 x 1k" "1 x 32k" "8 x 32k" --pages 16 1 --flush zero read --rounds 4 --rep-ms 60 \
    --budget-s 300 --json $OUT/tma3.json > $OUT/tma3.log 2>&1
echo "ab rc=$?"
grep -E '"check"|\|' $OUT/tma3.log
