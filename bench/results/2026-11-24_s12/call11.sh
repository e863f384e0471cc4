#!/bin/bash
# Session 12 call 11: decode with each request's pages visited in ascending page id ("reqsorted": the shuffled cache,
# every request's page list but its last page sorted; decode does not depend on key order). If the shuffled-ids loss is
# address translation, all CTAs sweeping the cache low -> high at about the same pace should share translations.
# bench.decode --no-extras per page order (shuffled, reqsorted, sorted), zero flush. Carry [".kit", ".snap5"].
set -u
R=$PWD
cd .snap5 && export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
cp $R/bench/decode.py bench/decode.py
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader 2>&1 | tee $OUT/env.txt
for order in shuffled reqsorted sorted; do
  timeout 120 python3 -m bench.decode --no-extras --pages $order --cases "64 x 4k" "16 x 16k" "128 x 1k" "8 x 32k" "1 x 32k" \
      --json $OUT/dec_$order.json > $OUT/dec_$order.log 2>&1
  echo "$order rc=$?"; grep -E "^\|" $OUT/dec_$order.log
done
