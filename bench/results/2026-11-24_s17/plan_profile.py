"""Session 17: where plan()'s host time goes on the GPU host (cProfile of 2000 back-to-back plan() calls, batch 256,
sort on and off), and the sort launch's parts timed alone. Run from a snapshot on the device:
    python3 bench/results/2026-11-24_s17/plan_profile.py"""
import cProfile
import io
import pstats
import time

import numpy as np
import torch

import cute_attn
from cute_attn import decode as dec
from bench.decode_host import plan_case

indptr, indices, last, ps = plan_case()
ids = indices[torch.randperm(indices.shape[0])].contiguous()
w = cute_attn.BatchDecodeWithPagedKVCacheWrapper()


def med(fn, n=2000):
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    ts.sort()
    return ts[0] * 1e6, ts[len(ts) // 2] * 1e6


for sort in (True, False, True, False):
    print(f"plan() sort={sort}: min / median {med(lambda: w.plan(indptr, ids, last, 32, 8, 128, ps, sort_pages=sort))}")
torch.cuda.synchronize()
for sort in (True, False):
    pr = cProfile.Profile()
    pr.enable()
    for _ in range(2000):
        w.plan(indptr, ids, last, 32, 8, 128, ps, sort_pages=sort)
    pr.disable()
    torch.cuda.synchronize()
    s = io.StringIO()
    pstats.Stats(pr, stream=s).sort_stats("tottime").print_stats(22)
    print(f"=== cProfile sort={sort} (2000 calls; times in s, per call x 500 = us)")
    print(s.getvalue()[-4200:])
# the sort launch's parts
plan = w._plan
sched = w._sched
ind = indptr.numpy()
print("max_pages numpy", med(lambda: int((ind[1:] - ind[:-1]).max())))
print("indptr_d slice", med(lambda: sched.indptr_d[:257]))
sl = sched.indptr_d[:257]
mp = int((ind[1:] - ind[:-1]).max())
print("_launch_sort", med(lambda: dec._launch_sort(plan.kv_indices, plan.kv_indices, sl, mp)))
print("event record", med(lambda: sched.record()))
print("sched.wait", med(lambda: sched.wait()))
torch.cuda.synchronize()
print("send", med(lambda: sched.send(sched.idx_at + 65536)))
torch.cuda.synchronize()
