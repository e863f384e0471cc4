#!/bin/bash
# Session 12 call 17 (device): the final code with plan(sort_pages=True) the default: every GPU test, bench.decode
# (default plan, zero and read flush; --no-sort-pages, zero flush) and plan()'s host time for batch 256.
# Carry [".kit", ".snap8"] (.snap8 = this commit's tree and build).
set -u
cd .snap8 && export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader 2>&1 | tee $OUT/main.log
timeout 260 python3 -m pytest -m gpu tests -q -rs --timeout=120 -p no:cacheprovider > $OUT/tests.log 2>&1
echo "tests rc=$?" | tee -a $OUT/main.log; grep -E "passed|failed|^FAILED|^ERROR" $OUT/tests.log | tail -8 | tee -a $OUT/main.log
for run in "zero:" "read:" "zero:--no-sort-pages"; do
  f=${run%%:*}; s=${run#*:}; tag=$f${s:+_nosort}
  timeout 90 python3 -m bench.decode --no-extras --flush $f $s --json $OUT/dec_$tag.json > $OUT/dec_$tag.log 2>&1
  echo "$tag rc=$?" | tee -a $OUT/main.log; grep -E "^\| [0-9]" $OUT/dec_$tag.log | tee -a $OUT/main.log
done
python3 - <<'PY' 2>&1 | tee -a $OUT/main.log
import time, torch, cute_attn
from bench.decode_host import plan_case
indptr, indices, last, ps = plan_case()
ids = indices[torch.randperm(indices.shape[0])].contiguous()
w = cute_attn.BatchDecodeWithPagedKVCacheWrapper()
for sort in (True, False, True, False):
    ts = []
    for _ in range(300):
        t = time.perf_counter(); w.plan(indptr, ids, last, 32, 8, 128, ps, sort_pages=sort); ts.append(time.perf_counter() - t)
    torch.cuda.synchronize(); ts.sort()
    print(f"plan() batch 256 sort_pages={sort}: min {ts[0]*1e6:.1f} us, median {ts[len(ts)//2]*1e6:.1f} us")
PY
