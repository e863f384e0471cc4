#!/bin/bash
# Session 13 call 13 (device; call 12 was the same command with PYTHONPATH overwritten, so the runtime was not found):
# a short run of the refactored bench.decode_plan_ab (2 rounds, read flush), both forms, on the final code.
#   carry [".kit", ".snap12"]; from the repository root:
source .kit/unpack.sh .kit >/dev/null && cd .snap12 && export PYTHONPATH=$PWD:$PYTHONPATH CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a && (timeout 120 python3 -m bench.decode_plan_ab --flush read --rounds 2 --groups; timeout 120 python3 -m bench.decode_plan_ab --flush read --rounds 2 --page1 kvsplit --page16 hnd) 2>&1 | grep -E "^\||Error|Traceback" | tee $OUT/check.log
