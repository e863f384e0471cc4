"""What ``plan(sort_pages=True)`` costs on the GPU and what it buys per decode call (session 21).

The default decode plan sorts each request's page ids on the device (``kernels/sort_pages.py``, one launch in plan()).
bench.decode times run() only, so the sort's GPU time never showed: a serving step pays it once (the plan), and gains
``t(unsorted) - t(sorted)`` on every layer's run(). Per case of bench.decode and page size this prints the sort's GPU
time (events around the launch, queued behind a GPU sleep so that the host's launch stays outside, and again behind a
GEMM over all SMs, the clock and L2 of a busy GPU; medians of ``--reps``; a column per ``--builds`` entry, so sort
kernels compare in one process; and the launch's host time), run() with the table's order and with the sorted order
(``plan(sort_pages=False)`` on the ids each way, the same inputs; ``bench.common.compare``, ``--flush``), and the layer
count above which the sort pays for itself (from the time behind the sleep).

    python -m bench.decode_sort_cost [--builds new=<artifact dir> old=<artifact dir>] [--cases "1 x 32k" ...]
        [--flush read] [--reps 30] [--json out.json]

Each build's sorted ids are checked against the host's chunked sort (``cute_attn.decode.sort_request_pages_`` on CPU
tensors sorts whole requests, so the check sorts each ``SORT_PAGES_CHUNK`` chunk itself).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import cute_attn
from cute_attn.artifacts import get_kernel
from cute_attn.layouts.decode_work import SORT_PAGES_CHUNK as CHUNK
from cute_attn.specs import SortPagesSpec

from .common import ArtifactBuild, compare, device_info, markdown_table, median, write_json
from .decode import CASES, DTYPE, HK, HQ, D, paged_inputs


def chunked_sort(ids: torch.Tensor, indptr: np.ndarray) -> torch.Tensor:
    """The sort kernel's contract on the host: each request's ids but its last ascending within each CHUNK (also the
    reference of ``tests/test_gpu_decode.py``'s sort test)."""
    want = ids.clone()
    for b in range(len(indptr) - 1):
        s, e = int(indptr[b]), int(indptr[b + 1])
        for lo in range(s, e - 1, CHUNK):
            hi = min(lo + CHUNK, e - 1)
            want[lo:hi] = torch.sort(ids[lo:hi]).values
    return want


_GEMM: list = []


def _busy_gemm():
    """A ~0.2 ms bf16 GEMM over all SMs (keeps the clock where a serving step has it; evicts L2 as the layers do)."""
    if not _GEMM:
        a = torch.randn(4096, 4096, dtype=torch.bfloat16, device="cuda")
        _GEMM.append((a, torch.empty_like(a)))
    a, c = _GEMM[0]
    torch.mm(a, a, out=c)


def sort_time_us(fn, ids_d, indptr_d, batch, max_pages, reps, before="sleep"):
    """(GPU us, host us, output) of one sort launch (ids -> a separate output, so every launch sorts the table's
    order): the GPU time between events with the launch queued behind ``before`` (else an idle GPU waits for the
    host's launch inside the events): ``sleep``, a ~60 us ``torch.cuda._sleep`` on one SM, or ``gemm``, a ~0.2 ms GEMM
    over every SM (the clock of a busy GPU, L2 evicted); medians of ``reps``; the host time of the launch call alone."""
    out = torch.empty_like(ids_d)
    chunks = max(1, -(-(max_pages - 1) // CHUNK))
    call = lambda: fn(out, ids_d.data_ptr(), indptr_d.data_ptr(), batch, chunks)  # noqa: E731
    for _ in range(3):
        call()
    torch.cuda.synchronize()
    ev = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(reps)]
    host = []
    for a, b in ev:
        if before == "gemm":
            _busy_gemm()
        else:
            torch.cuda._sleep(100_000)
        a.record()
        t0 = time.perf_counter()
        call()
        host.append((time.perf_counter() - t0) * 1e6)
        b.record()
        torch.cuda.synchronize()
    return median([a.elapsed_time(b) * 1e3 for a, b in ev]), median(host), out


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--builds", nargs="*", default=[], help="name=<artifact dir> of sort kernels to time (default: "
                   "the installed one)")
    p.add_argument("--cases", nargs="+", default=None)
    p.add_argument("--flush", default="read", choices=("zero", "read"))
    p.add_argument("--reps", type=int, default=30)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--json")
    args = p.parse_args(argv)
    builds = [tuple(b.split("=", 1)) for b in args.builds] or [("tree", None)]
    kernels = {}
    for name, directory in builds:
        kernels[name] = (ArtifactBuild(name, directory)(SortPagesSpec()) if directory
                         else get_kernel(SortPagesSpec()))
    info = device_info()
    rows = []
    for case, kv_lens in CASES:
        if args.cases is not None and case not in args.cases:
            continue
        for ps in (1, 16):
            cache, indptr, indices, last = paged_inputs(kv_lens, ps)
            ind = indptr.numpy()
            batch, max_pages = len(kv_lens), int(np.diff(ind).max())
            ids_d, indptr_d = indices.cuda(), indptr.cuda()
            want = chunked_sort(indices, ind)
            row = {"case": case, "page_size": ps, "ids": int(ind[-1])}
            for name, fn in kernels.items():
                us, host_us, out = sort_time_us(fn, ids_d, indptr_d, batch, max_pages, args.reps)
                ok = torch.equal(out.cpu(), want)
                row[f"sort_us_{name}"] = us if ok else f"WRONG ({us:.1f} us)"
                row[f"launch_host_us_{name}"] = host_us
                row[f"sort_us_after_gemm_{name}"] = sort_time_us(fn, ids_d, indptr_d, batch, max_pages, args.reps,
                                                                 before="gemm")[0]
            q = torch.randn(batch, HQ, D, dtype=DTYPE, device="cuda")
            fns, keep = {}, []
            for label, ids in (("table", indices), ("sorted", want)):
                w = cute_attn.BatchDecodeWithPagedKVCacheWrapper()
                w.plan(indptr, ids, last, HQ, HK, D, ps, sort_pages=False, q_data_type=DTYPE)
                keep.append(w)
                fns[label] = lambda w=w, cache=cache: w.run(q, cache)
            per = compare(fns, rounds=args.rounds, flush=args.flush)
            t_table, t_sorted = median(per["table"]) * 1e3, median(per["sorted"]) * 1e3
            row.update(run_table_us=t_table, run_sorted_us=t_sorted, gain_us=t_table - t_sorted)
            for name in kernels:
                us = row[f"sort_us_{name}"]
                if isinstance(us, float):
                    row[f"layers_{name}"] = us / row["gain_us"] if row["gain_us"] > 0 else "never"
            rows.append(row)
            print(row, flush=True)
            del keep, cache
            torch.cuda.empty_cache()
    cols = ["case", "page_size", "ids"] + [f"sort_us_{n}" for n in kernels] + ["run_table_us", "run_sorted_us",
                                                                               "gain_us"] + [f"layers_{n}" for n in kernels]
    cols += [f"sort_us_after_gemm_{n}" for n in kernels] + [f"launch_host_us_{n}" for n in kernels]
    print(f"\n{info['device']}, {info['date']}; flush {args.flush}; {HQ}q/{HK}kv heads, head_dim {D}; sort kernels: "
          + ", ".join(f"{n}={d or 'installed'}" for n, d in builds)
          + "; sort_us_X: the sort's GPU time; layers_X = sort_us_X / gain_us (calls per plan above which sorting pays)\n")
    print(markdown_table(rows, cols))
    write_json(args.json, {"info": info, "flush": args.flush, "builds": dict(builds), "rows": rows})


if __name__ == "__main__":
    main()
