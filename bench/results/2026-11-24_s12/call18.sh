#!/bin/bash
# Session 12 call 18: the decode GPU tests after the final host-side clean-up of sort_request_pages_ (.snap9 = HEAD).
# Carry [".kit", ".snap9"].
set -u
cd .snap9 && export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
timeout 150 python3 -m pytest -m gpu tests/test_gpu_decode.py -q -rs --timeout=120 -p no:cacheprovider > $OUT/tests.log 2>&1
echo "tests rc=$?"; grep -E "passed|failed|^FAILED|^ERROR" $OUT/tests.log | tail -5
