#!/bin/bash
# Session 12 call 16 (call 15 with the sort sized to each request: next power of two): plan(sort_pages=True) with the one-launch sort kernel (kernels/sort_pages.py, branch s12-sortkernel):
# every decode GPU test (test_sort_pages, the kernel against a chunked sort), bench.decode without / with --sort-pages
# (zero flush) and plan()'s host time for batch 256 without / with the sort.
# Carry [".kit", ".snap7"] (.snap7 = the branch head and its build).
set -u
cd .snap7 && export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader 2>&1 | tee $OUT/env.txt
timeout 200 python3 -m pytest -m gpu tests/test_gpu_decode.py -q -rs --timeout=120 -p no:cacheprovider > $OUT/tests.log 2>&1
echo "tests rc=$?"; grep -E "passed|failed|^FAILED|^ERROR" $OUT/tests.log | tail -5
for f in zero; do
  for s in "" "--sort-pages"; do
    tag=$f${s:+_sort}
    timeout 100 python3 -m bench.decode --no-extras --flush $f $s --json $OUT/dec_$tag.json > $OUT/dec_$tag.log 2>&1
    echo "$tag rc=$?"; grep -E "^\| [0-9]" $OUT/dec_$tag.log
  done
done
python3 - <<'PY' 2>&1 | tee $OUT/plan_host.txt
import time, torch, cute_attn
from bench.decode_host import plan_case
indptr, indices, last, ps = plan_case()
ids = indices[torch.randperm(indices.shape[0])].contiguous()
w = cute_attn.BatchDecodeWithPagedKVCacheWrapper()
for sort in (False, True, False, True):
    ts = []
    for _ in range(300):
        t = time.perf_counter(); w.plan(indptr, ids, last, 32, 8, 128, ps, sort_pages=sort); ts.append(time.perf_counter() - t)
    torch.cuda.synchronize(); ts.sort()
    print(f"plan() batch 256 sort_pages={sort}: min {ts[0]*1e6:.1f} us, median {ts[len(ts)//2]*1e6:.1f} us")
PY
