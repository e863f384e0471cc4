#!/bin/bash
# Session 16 call 6 (device): plan() / run() host time again (call 5 read plan() with the sort at 116-124 us median, 97 us
# without, run() 12.7-13.1 us, against 68-87 / 9-14 us in session 15's calls 3 and 12 with the same code): the host's
# CPU and load first, then three fresh processes.
#   carry [".kit", ".snap16f"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s16/call6.sh
set -u
R=$PWD; SNAP=.snap16f; source bench/call_env.sh
{ lscpu | grep -E "Model name|^CPU\(s\)|MHz|Thread|Socket|NUMA node\(s\)"; uptime; nproc; } 2>&1 | tee -a "$OUT/main.log"
for p in 1 2 3; do
timeout 60 python3 - <<'PY' 2>&1 | tee -a "$OUT/main.log"
import os, time, torch, cute_attn
from bench.decode_host import plan_case
from bench.decode import run_host_time_us
print("affinity", len(os.sched_getaffinity(0)), "torch threads", torch.get_num_threads())
indptr, indices, last, ps = plan_case()
ids = indices[torch.randperm(indices.shape[0])].contiguous()
w = cute_attn.BatchDecodeWithPagedKVCacheWrapper()
for sort in (True, False, True):
    ts = []
    for _ in range(300):
        t = time.perf_counter(); w.plan(indptr, ids, last, 32, 8, 128, ps, sort_pages=sort); ts.append(time.perf_counter() - t)
    torch.cuda.synchronize(); ts.sort()
    print(f"plan() batch 256 sort_pages={sort}: min {ts[0]*1e6:.1f} us, median {ts[len(ts)//2]*1e6:.1f} us")
for i in range(3):
    print(f"run() host time, median of 300: {run_host_time_us():.1f} us")
PY
log "process $p $(el)"
done
log "total $(el)"
