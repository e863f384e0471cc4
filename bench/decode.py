"""Batch decode over a paged KV cache (32 query / 8 kv heads, head_dim 128, bf16 unless ``--head-dim`` / ``--dtype``
say otherwise) next to torch SDPA
decode on a dense KV (cuDNN and FlashAttention backends, ``enable_gqa=True``) and the device copy
bandwidth, measured in one process; plus the host time of ``plan()`` for a batch of 256.

    python -m bench.decode [--json out.json] [--flush {zero,read}] [--cases "64 x 4k" ...] [--no-extras]
        [--pages {shuffled,sorted,local:<size>,blocks:<size>}] [--head-dim {64,128,256}] [--dtype {bf16,fp16}]
        [--graph]

``--flush`` picks how L2 is evicted before every timed call (``bench.common.time_ms_flush``): ``zero``
(default, triton's do_bench: a zeroed 256 MB buffer, whose ~50 MB of dirty lines are written back while the
timed kernel runs) or ``read`` (a read pass over 256 MB: clean lines, nothing to write back), the same for
ours and for every peer. ``--cases`` keeps the named cases; ``--no-extras`` skips the HND rows, the 1 x N
sweep and the host timings. ``--pages`` sets the page ids of the tables (``page_ids``; default shuffled).

``--graph`` times our decode as a serving engine runs it under CUDA graphs: a ``use_cuda_graph=True`` wrapper (its plan
and captured variant, ``cute_attn.decode.GRAPH_ITEM_HEADS``), ``run()`` captured once per case and page size, each timed
call one ``graph.replay()``; the peers as without it.

GB/s counts the KV bytes a decode must read (K and V of every cached row, once); the peers read a
dense, padded KV (a skewed batch is padded to its longest request) but are credited the same bytes.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch
import torch.nn.functional as F

import cute_attn
from cute_attn.specs import DECODE_HEAD_DIMS

from .common import (FLUSH_MODES, compare, copy_bandwidth_gbs, device_info, markdown_table, median, ratio, timing_arg,
                     use_timing, write_json)

HQ, HK, D = 32, 8, 128
DTYPE = torch.bfloat16

CASES = [
    ("64 x 4k", [4096] * 64),
    ("16 x 16k", [16384] * 16),
    ("128 x 1k", [1024] * 128),
    ("1 x 32k", [32768]),
    ("8 x 32k", [32768] * 8),
    ("skewed 1 x 32k + 63 x 512", [32768] + [512] * 63),
]


# page ids of the bench's page tables (``--pages``; ``page_ids`` builds them): "shuffled" (default: a random permutation
# of the cache's pages), "sorted" (each request's pages in cache order, so its K / V rows sit where a dense cache would
# put them: isolates the cost of the scattered page placement from the rest of the paged kernel), and two placements
# between them (session 7, bench/decode_locality.py): "local:<size>" shuffles the page ids only within aligned windows
# of <size> bytes of the sorted order (local:2M keeps every page of a window in the same 2 MiB of the cache), and
# "blocks:<size>" keeps runs of <size> bytes of consecutive pages in order and shuffles the runs over the whole cache.
PAGE_ORDER = ["shuffled"]
# ``--no-sort-pages``: plan(sort_pages=False) for the timed decode runs (the default plan visits each request's pages
# in ascending id, session 12)
SORT_PAGES = [True]
# ``--graph``: our decode timed as CUDA-graph replays of a use_cuda_graph=True wrapper's run()
GRAPH = [False]
_SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def parse_size(text: str) -> int:
    """Bytes of ``"256K"``, ``"2M"``, ``"1G"`` or ``"4096"`` (binary units)."""
    t = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = t[-1:] if t[-1:] in _SIZE_UNITS else ""
    digits = t[: len(t) - len(unit)]
    if not digits.isdigit() or int(digits) <= 0:
        raise ValueError(f"size must be a positive integer with an optional K / M / G unit, got {text!r}")
    n = int(digits)
    return n * _SIZE_UNITS[unit]


def parse_pages(mode: str) -> tuple[str, int | None]:
    """``(kind, size in bytes or None)`` of a ``--pages`` mode; ValueError for an unknown one."""
    if mode in ("sorted", "shuffled", "reqsorted"):
        return mode, None
    kind, _, size = mode.partition(":")
    if kind in ("local", "blocks") and size:
        return kind, parse_size(size)
    raise ValueError(f"--pages must be sorted, shuffled, reqsorted, local:<size> or blocks:<size> (e.g. local:2M), "
                     f"got {mode!r}")


def pages_mode(mode: str) -> str:
    """argparse type of ``--pages``."""
    try:
        parse_pages(mode)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return mode


def page_ids(num_pages: int, mode: str, page_bytes: int, generator=None) -> torch.Tensor:
    """The cache page of each position of the sorted order (the requests' pages laid end to end), int32 CPU,
    a permutation of ``range(num_pages)``. ``local:<size>``: windows of ``size // page_bytes`` positions (at least
    1), each window's ids a permutation of its own positions; ``blocks:<size>``: runs of ``size // page_bytes``
    positions keep consecutive ids, the whole runs permuted (a short last run stays in place)."""
    kind, size = parse_pages(mode)
    if kind == "sorted":
        return torch.arange(num_pages, dtype=torch.int32)
    if kind in ("shuffled", "reqsorted"):  # (reqsorted: then sorted within each request, ``request_sorted``)
        return torch.randperm(num_pages, dtype=torch.int32, generator=generator)
    w = max(1, size // page_bytes)
    pos = torch.arange(num_pages, dtype=torch.int64)
    if kind == "local":  # sort by (window, random key): each window's positions get its own ids, shuffled
        key = (pos // w).to(torch.float64) + torch.rand(num_pages, dtype=torch.float64, generator=generator) * 0.5
        return torch.argsort(key).to(torch.int32)
    full = num_pages // w
    ids = pos.clone()
    if full > 1:
        perm = torch.randperm(full, generator=generator)
        ids[: full * w] = (perm[:, None] * w + torch.arange(w)[None, :]).reshape(-1)
    return ids.to(torch.int32)


def request_sorted(indices: torch.Tensor, pages_per: list[int]) -> torch.Tensor:
    """``indices`` with each request's pages but its last in ascending page id (the last, partial page stays last): the
    order the decode plan visits them in by default (``cute_attn.decode.sort_request_pages_``), here applied to the
    table itself (the ``reqsorted`` placement: session 12's address-translation experiment)."""
    from cute_attn.decode import sort_request_pages_

    out = indices.clone()
    sort_request_pages_(out, out, np.concatenate([[0], np.cumsum(pages_per)]))
    return out


def page_bytes_of(page_size: int, layout_elems: int | None = None) -> int:
    """Bytes of one page of the bench's stacked cache (K and V, ``page_size`` rows of HK x D each)."""
    return 2 * page_size * (HK * D if layout_elems is None else layout_elems) * DTYPE.itemsize


def head_dim_arg(parser, help: str = "bf16 decode of this head dim") -> None:
    """The ``--head-dim`` option of the decode bench scripts (the decode kernels' head dims; default hd128)."""
    parser.add_argument("--head-dim", type=int, default=128, choices=DECODE_HEAD_DIMS, help=help)


def use_head_dim(head_dim: int, caller: str) -> None:
    """A decode bench script's ``--head-dim`` (bf16): :func:`configure` for this module, ``bench.decode_ab`` when it is
    imported (its case inputs) and the calling module ``caller`` (its plans), which imported ``D`` by value."""
    import sys

    configure(head_dim, "bf16", *(sys.modules[n] for n in ("bench.decode_ab", caller) if n in sys.modules))


def configure(head_dim: int, dtype: str, *modules) -> None:
    """The head dim and dtype every case of this run uses (``--head-dim``, ``--dtype``; default hd128 bf16, the issue's
    figures). Bench modules that imported ``D`` / ``DTYPE`` by value (``bench.decode_ab``, a script's own module) are
    passed in ``modules`` and get the same values."""
    global D, DTYPE
    if head_dim not in DECODE_HEAD_DIMS:
        raise ValueError(f"head_dim must be one of {DECODE_HEAD_DIMS}, got {head_dim}")
    D = head_dim
    DTYPE = {"bf16": torch.bfloat16, "fp16": torch.float16}[dtype]
    for m in modules:
        for name, value in (("D", D), ("DTYPE", DTYPE)):
            if hasattr(m, name):
                setattr(m, name, value)


def paged_inputs(kv_lens, page_size, layout="NHD"):
    pages_per = [(n + page_size - 1) // page_size for n in kv_lens]
    num_pages = sum(pages_per)
    indices = page_ids(num_pages, PAGE_ORDER[0], page_bytes_of(page_size))
    if PAGE_ORDER[0] == "reqsorted":
        indices = request_sorted(indices, pages_per)
    indptr = torch.tensor([0] + torch.tensor(pages_per).cumsum(0).tolist(), dtype=torch.int32)
    last = torch.tensor([(n - 1) % page_size + 1 for n in kv_lens], dtype=torch.int32)
    shape = (num_pages, 2, page_size, HK, D) if layout == "NHD" else (num_pages, 2, HK, page_size, D)
    cache = torch.randn(shape, dtype=DTYPE, device="cuda")
    return cache, indptr, indices, last


def sdpa_decode(q, k, v, backend):
    from torch.nn.attention import sdpa_kernel

    with sdpa_kernel(backend):
        return F.scaled_dot_product_attention(q, k, v, enable_gqa=True)


def bench_case(name, kv_lens, page_sizes, copy_gbs, layout="NHD", peers=True, rounds=3, warm_s=1.5, flush="zero"):
    """One row per page size (the peers' columns in the page-16 row, or the only row): ours at every page size
    and the dense SDPA peers timed side by side (``bench.common.compare``: warm-up to the steady clock, then
    interleaved rounds in alternating order); ``vs_cudnn`` is the median of the per-round ratios."""
    from torch.nn.attention import SDPBackend

    batch = len(kv_lens)
    kv_bytes = sum(kv_lens) * HK * D * 2 * 2
    q = torch.randn(batch, HQ, D, dtype=DTYPE, device="cuda")
    fns, keep, splits, variant = {}, [], {}, {}
    for ps in page_sizes:
        cache, indptr, indices, last = paged_inputs(kv_lens, ps, layout)
        w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(kv_layout=layout, use_cuda_graph=GRAPH[0])
        w.plan(indptr, indices, last, HQ, HK, D, ps, sort_pages=SORT_PAGES[0], q_data_type=DTYPE)
        keep.append((w, cache))
        fns[f"page{ps}"] = lambda w=w, cache=cache: w.run(q, cache)
        if GRAPH[0]:  # one capture of run() (after an eager call, which loads the kernel); each call a replay
            fns[f"page{ps}"]()
            graph = _capture(fns[f"page{ps}"])
            keep.append(graph)
            fns[f"page{ps}"] = graph.replay
        splits[ps] = w._plan.work.num_splits
        # the decode variant plan() picked, less its dtype / head_dim / arch: "stages3", "stages3_itemheads8", "-"
        variant[ps] = w._plan.spec.name.split(f"headdim{D}", 1)[1].rsplit("_", 1)[0].strip("_") or "-"
    peer_row = {}
    if peers:
        max_len = max(kv_lens)
        kd = torch.randn(batch, HK, max_len, D, dtype=DTYPE, device="cuda")
        vd = torch.randn_like(kd)
        keep.append((kd, vd))
        q4 = q.unsqueeze(2)
        for label, backend in (("cudnn", SDPBackend.CUDNN_ATTENTION), ("fa2", SDPBackend.FLASH_ATTENTION)):
            fn = lambda backend=backend: sdpa_decode(q4, kd, vd, backend)  # noqa: E731
            try:
                fn()
                fns[label] = fn
            except Exception as e:  # a backend that refuses this shape: say so, keep going
                peer_row[f"{label}_us"] = f"n/a ({type(e).__name__})"
    per = compare(fns, rounds=rounds, warm_s=warm_s, flush=flush)
    if layout != "NHD":
        name = f"{name} {layout}"
    rows = []
    for ps in page_sizes:
        ms = median(per[f"page{ps}"])
        row = {"case": name, "page_size": ps, "flush": flush, "MB": kv_bytes / 1e6, "cute_attn_us": ms * 1e3,
               "cute_attn_GBs": kv_bytes / ms / 1e6, "pct_of_copy": 100 * kv_bytes / ms / 1e6 / copy_gbs,
               "splits": splits[ps], "variant": variant[ps], "rounds_ms": {k: v for k, v in per.items() if k == f"page{ps}"}}
        if "cudnn" in fns:
            row["vs_cudnn"] = f"{ratio(per, f'page{ps}', 'cudnn'):.3f}x"
        if ps == 16 or len(page_sizes) == 1:
            row.update(peer_row)
            for label in ("cudnn", "fa2"):
                if label in fns:
                    t = median(per[label])
                    row[f"{label}_us"] = t * 1e3
                    row[f"{label}_GBs"] = kv_bytes / t / 1e6
                    row["rounds_ms"][label] = per[label]
        rows.append(row)
    del keep
    torch.cuda.empty_cache()
    return rows


def _capture(fn):
    """``fn()`` captured in a CUDA graph on a side stream (the current stream's work first, then it waits for the
    capture)."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.stream(side), torch.cuda.graph(graph):
        fn()
    torch.cuda.current_stream().wait_stream(side)
    torch.cuda.synchronize()
    return graph


def plan_host_time_us(batch=256, page_size=16, reps=200):
    """Host time of ``plan()`` for a batch of 256 (CPU page table, 1..8k rows per request): (min,
    median) in us with the compiled planner (None when it is not built) and with the numpy one."""
    import cute_attn.decode as dec

    gen = torch.Generator().manual_seed(0)
    kv_lens = torch.randint(1, 8192, (batch,), generator=gen).tolist()
    pages_per = [(n + page_size - 1) // page_size for n in kv_lens]
    indptr = torch.tensor([0] + torch.tensor(pages_per).cumsum(0).tolist(), dtype=torch.int32)
    indices = torch.arange(int(indptr[-1]), dtype=torch.int32)
    last = torch.tensor([(n - 1) % page_size + 1 for n in kv_lens], dtype=torch.int32)
    compiled = dec.compiled_planner()
    result = {}
    for label, lib in (("compiled", compiled), ("numpy", None)):
        if label == "compiled" and lib is None:
            result[label] = None
            continue
        saved = dec._PLANNER[:]
        dec._PLANNER[:] = [lib]
        try:
            w = cute_attn.BatchDecodeWithPagedKVCacheWrapper()
            w.plan(indptr, indices, last, HQ, HK, D, page_size, q_data_type=DTYPE)
            times = []
            for _ in range(reps):
                t0 = time.perf_counter()
                w.plan(indptr, indices, last, HQ, HK, D, page_size, q_data_type=DTYPE)
                times.append(time.perf_counter() - t0)
            torch.cuda.synchronize()
        finally:
            dec._PLANNER[:] = saved
        times.sort()
        result[label] = (times[0] * 1e6, times[len(times) // 2] * 1e6)
        if label == "compiled":  # the C call alone (checks, schedule, page-id staging), same buffers
            args = w._sched.args  # decode_plan_packed's argument block as the last plan() left it
            no_ids = (type(args))()
            no_ids[:] = args[:]
            no_ids[dec.ARG_INDICES] = no_ids[dec.ARG_INDICES_OUT] = 0  # the same call without the page-id pass
            for key, a in (("compiled_call", args), ("compiled_call_no_ids", no_ids)):
                times = []
                for _ in range(reps):
                    t0 = time.perf_counter()
                    lib.decode_plan_packed(a)
                    times.append(time.perf_counter() - t0)
                times.sort()
                result[key] = (times[0] * 1e6, times[len(times) // 2] * 1e6)
    return result


def run_host_time_us(reps=300):
    """Host time of one ``run()`` (validation + launch) on a tiny problem, with no sync in between."""
    cache, indptr, indices, last = paged_inputs([64], 16)
    q = torch.randn(1, HQ, D, dtype=DTYPE, device="cuda")
    out = torch.empty_like(q)
    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper()
    w.plan(indptr, indices, last, HQ, HK, D, 16, q_data_type=DTYPE)
    w.run(q, cache, out=out)
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        w.run(q, cache, out=out)
        times.append(time.perf_counter() - t0)
    torch.cuda.synchronize()
    return sorted(times)[len(times) // 2] * 1e6


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--json")
    head_dim_arg(p)
    p.add_argument("--dtype", default="bf16", choices=("bf16", "fp16"))
    timing_arg(p)
    p.add_argument("--flush", choices=FLUSH_MODES, default="zero")
    p.add_argument("--cases", nargs="+", default=None, help="case names to keep (default: all)")
    p.add_argument("--no-extras", action="store_true", help="skip HND, the 1 x N sweep and the host timings")
    p.add_argument("--pages", type=pages_mode, default="shuffled",
                   help="page ids of the page tables: shuffled, sorted, reqsorted, local:<size>, blocks:<size> "
                        "(e.g. local:2M)")
    p.add_argument("--no-sort-pages", dest="sort_pages", action="store_false",
                   help="plan(sort_pages=False): each request's pages visited in table order (the default sorts)")
    p.add_argument("--graph", action="store_true",
                   help="time our decode as CUDA-graph replays of a use_cuda_graph=True wrapper's run()")
    args = p.parse_args(argv)
    GRAPH[0] = args.graph
    configure(args.head_dim, args.dtype)
    use_timing(args.timing)
    PAGE_ORDER[0] = args.pages
    SORT_PAGES[0] = args.sort_pages
    info = device_info()
    copy = copy_bandwidth_gbs()
    cases = [(n, k) for n, k in CASES if args.cases is None or n in args.cases]
    rows = []
    for name, kv_lens in cases:
        try:
            rows.extend(bench_case(name, kv_lens, (1, 16), copy, flush=args.flush))
        except Exception as e:  # keep going: one broken case must not hide the others
            rows.append({"case": f"FAILED {name}", "MB": repr(e)[:200]})
        for r in rows[-2:]:
            print(r, flush=True)
    cols = ["case", "page_size", "MB", "cute_attn_us", "cute_attn_GBs", "pct_of_copy", "splits", "variant",
            "cudnn_us", "cudnn_GBs", "fa2_us", "fa2_GBs", "vs_cudnn"]
    if args.no_extras:
        print(f"\n{info['device']}, {info['date']}; L2 flush: {args.flush}; {'CUDA-graph replays; ' if args.graph else ''}{HQ}q/{HK}kv heads, head_dim {D}, "
              f"{args.dtype}; pages {args.pages}"
              f"{'' if args.sort_pages else ' (plan sort_pages=False)'}; device copy {copy:.0f} GB/s\n")
        print(markdown_table(rows, cols))
        write_json(args.json, {"info": info, "copy_GBs": copy, "flush": args.flush, "graph": args.graph, "pages": args.pages,
                               "sort_pages": args.sort_pages, "head_dim": D, "dtype": args.dtype, "rows": rows})
        return
    # HND at page 16: a page holds 4 KB of one head's rows (NHD: 256-byte rows at a 2 KB stride): does
    # the read pattern explain the last ~5% to cuDNN's dense, contiguous per-head stream?
    for name, kv_lens in cases:
        if name in ("64 x 4k", "16 x 16k", "1 x 32k", "8 x 32k"):
            rows.extend(bench_case(name, kv_lens, (16,), copy, layout="HND", peers=False, rounds=2, warm_s=0.5,
                                   flush=args.flush))
            print(rows[-1], flush=True)
    # one request of growing length: time = fixed + bytes / rate; the intercept is the start-up and
    # tail cost that keeps 1 x 32k far from the copy bandwidth
    sweep = [bench_case(f"1 x {n // 1024}k", [n], (16,), copy, rounds=2, warm_s=0.5, flush=args.flush)[0]
             for n in (4096, 8192, 16384, 32768, 65536, 131072)]
    fits = {}
    for key in ("cute_attn", "cudnn"):
        pts = [(r["MB"], r[f"{key}_us"]) for r in sweep if isinstance(r.get(f"{key}_us"), float)]
        if len(pts) >= 2:
            n = len(pts)
            mx, my = sum(p[0] for p in pts) / n, sum(p[1] for p in pts) / n
            slope = sum((p[0] - mx) * (p[1] - my) for p in pts) / sum((p[0] - mx) ** 2 for p in pts)
            fits[key] = {"fixed_us": my - slope * mx, "stream_GBs": 1e3 / slope}
    plan_us = plan_host_time_us()
    run_us = run_host_time_us()
    import cute_attn.decode as dec

    copy_path = "cudaMemcpyAsync (torch's libcudart)" if dec._cudart() is not None else "torch copy_"
    fmt = lambda t: "not built" if t is None else f"{t[1]:.0f} us (min {t[0]:.0f})"  # noqa: E731
    print(f"\n{info['device']}, {info['date']}; L2 flush: {args.flush}; {'CUDA-graph replays; ' if args.graph else ''}{HQ}q/{HK}kv heads, head_dim {D}, {args.dtype}; "
          f"device copy (read+write) {copy:.0f} GB/s; plan() host time, batch 256, median: compiled planner "
          f"{fmt(plan_us['compiled'])} (its C call {fmt(plan_us.get('compiled_call'))}, without the page ids "
          f"{fmt(plan_us.get('compiled_call_no_ids'))}), numpy planner "
          f"{fmt(plan_us['numpy'])}; schedule sent by {copy_path}; "
          f"run() host time: {run_us:.1f} us\n")
    print(markdown_table(rows, cols))
    print("\n1 x N, page 16 (fit: us = fixed + MB / stream rate): " + "; ".join(
        f"{k} fixed {v['fixed_us']:.1f} us, stream {v['stream_GBs']:.0f} GB/s" for k, v in fits.items()))
    print(markdown_table(sweep, ["case", "MB", "cute_attn_us", "cute_attn_GBs", "pct_of_copy", "splits", "cudnn_us",
                                 "cudnn_GBs"]))
    write_json(args.json, {"info": info, "copy_GBs": copy, "flush": args.flush, "graph": args.graph, "plan_us_batch256": (plan_us["compiled"] or plan_us["numpy"])[1], "plan_us": plan_us, "run_host_us": run_us, "rows": rows,
                           "sweep_1xN": sweep, "sweep_fit": fits,
                           "heads": [HQ, HK], "head_dim": D, "scale": 1 / math.sqrt(D)})


if __name__ == "__main__":
    main()
