"""Decode: where the cost of shuffled page ids comes from (session 7, issue 6). One process; per case and page
size ONE cache (aligned to 2 MiB), one page table per placement mode (``bench.decode.page_ids``), all timed side by
side with cuDNN SDPA on a dense KV (``bench.common.compare``: warm-up, then interleaved rounds in alternating order).

    python3 -m bench.decode_locality [--cases "64 x 4k" "16 x 16k"] [--pages 16 1] \\
        [--modes sorted local:256K local:2M local:16M blocks:256K blocks:2M shuffled] [--repeats 2] [--json out.json]

Modes (page ids of the sorted order: each request's pages laid end to end, in cache order):
    sorted        position j -> page j (the addresses of a dense cache)
    local:<S>     ids shuffled within aligned windows of S bytes (local:2M: each window is one 2 MiB translation
                  page of the cache; the pages read together are no longer adjacent)
    blocks:<S>    runs of S bytes keep consecutive ids, the runs shuffled over the whole cache (blocks:256K at
                  page 16 / 1: one run = one 64-row KV tile of a sequence, adjacent inside, a new 2 MiB region per run)
    shuffled      a random permutation (the bench's default)
The two hypotheses this separates (bench/NOTES-decode.md "Session 7 (decode-loc)"): translation reach (the cost
follows the number of 2 MiB regions a CTA's stream visits: local:2M = blocks:2M = sorted, blocks:256K slow) vs DRAM
locality (the cost follows the adjacency of what is read together: blocks:* = sorted, local:2M / local:16M slow).

``--head-minor`` adds, at page sizes below 16, the labels ``<mode>+hm`` for sorted and shuffled: the same table planned
with the head-minor CTA order forced on (numpy planner, ``HEAD_MINOR_MIN_PAGE = 1``; default plans use it from page
16 up), which puts the 8 kv heads of a page in 8 CTAs of the same window (64 x 4k page 1 is 0.981x cuDNN even sorted).
``--gather`` times a kernel-independent read through the same page tables: ``index_select`` of whole pages into a
dense buffer (reads the cache in table order, writes sequentially; its writes are the same for every mode).

Before timing, each mode's output is checked against a float32 attention over the dense K / V gathered through its
table (max |diff|; bf16 output, so ~1e-3 is expected). ``--dry-run`` (CPU): builds and validates every table (a
permutation, the window / run structure), plans each on the host, prints the number of timings and exits.
"""

from __future__ import annotations

import argparse
import json
import math
import time
import zlib

import torch

import cute_attn
from bench.decode import DTYPE, HK, HQ, D, page_bytes_of, page_ids, pages_mode, parse_pages
from bench.decode_ab import case_lens

DEVICE = "cuda"  # the tests run main()'s bookkeeping on "cpu" with a stand-in kernel and timer
MODES = ["sorted", "local:256K", "local:2M", "local:16M", "blocks:256K", "blocks:2M", "shuffled"]
ALIGN = 2 << 20


def table(kv_lens, page_size):
    pages_per = [(n + page_size - 1) // page_size for n in kv_lens]
    indptr = torch.tensor([0] + torch.tensor(pages_per).cumsum(0).tolist(), dtype=torch.int32)
    last = torch.tensor([(n - 1) % page_size + 1 for n in kv_lens], dtype=torch.int32)
    return sum(pages_per), indptr, last


def mode_ids(num_pages, mode, page_size, seed):
    """A mode's page ids, reproducible per (seed, mode, page size)."""
    gen = torch.Generator().manual_seed(seed * 1000003 + zlib.crc32(f"{mode}/{page_size}".encode()))
    return page_ids(num_pages, mode, page_bytes_of(page_size), gen)


def check_ids(ids: torch.Tensor, mode: str, page_size: int) -> dict:
    """Validate a table against its mode; returns its structure figures (AssertionError when wrong)."""
    n = ids.numel()
    assert ids.dtype == torch.int32 and torch.equal(torch.sort(ids).values, torch.arange(n, dtype=torch.int32)), \
        f"{mode}: not a permutation of range({n})"
    pos = torch.arange(n)
    kind, size = parse_pages(mode)
    ids64 = ids.long()
    w = 1 if size is None else max(1, size // page_bytes_of(page_size))
    if kind == "sorted":
        assert torch.equal(ids64, pos)
    elif kind == "local":
        assert torch.equal(ids64 // w, pos // w), f"{mode}: an id left its window"
    elif kind == "blocks":
        full = n // w * w
        inner = ids64[:full].view(-1, w)
        assert torch.equal(inner - inner[:, :1], torch.arange(w).expand_as(inner)), f"{mode}: a run is not consecutive"
        assert (inner[:, 0] % w == 0).all(), f"{mode}: a run is not aligned"
        assert torch.equal(ids64[full:], pos[full:]), f"{mode}: the short last run moved"
    adjacent = float((ids64[1:] - ids64[:-1] == 1).float().mean()) if n > 1 else 1.0
    pages_2m = max(1, ALIGN // page_bytes_of(page_size))
    region_changes = float((ids64[1:] // pages_2m != ids64[:-1] // pages_2m).float().mean()) if n > 1 else 0.0
    return {"pages_per_window": w, "adjacent": adjacent, "region_change": region_changes}


def aligned_cache(num_pages, page_size, align=ALIGN):
    """A stacked NHD cache (num_pages, 2, page_size, HK, D) whose first page starts on an ``align`` boundary, and the
    offset torch's own allocation had (bytes mod align)."""
    elems = num_pages * 2 * page_size * HK * D
    pad = align // DTYPE.itemsize
    flat = torch.empty(elems + pad, dtype=DTYPE, device=DEVICE)
    raw = flat.data_ptr() % align
    skip = ((align - raw) % align) // DTYPE.itemsize
    cache = flat[skip: skip + elems].view(num_pages, 2, page_size, HK, D)
    cache.normal_()
    assert cache.data_ptr() % align == 0
    return cache, raw


def plan(indptr, ids, last, page_size, head_minor=False, device=None):
    """The wrapper's plan of one kv head per item (the schedule this session-7 study is about: plans of items of several
    kv heads, session 23, are made with ``cute_attn.decode.MAX_ITEM_HEADS`` = 1 here)."""
    import cute_attn.decode as dec

    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(**({"device": device} if device else {}))
    saved_planner, saved_min, saved_heads = dec._PLANNER[:], dec.HEAD_MINOR_MIN_PAGE, dec.MAX_ITEM_HEADS
    dec.MAX_ITEM_HEADS = 1
    if head_minor:
        dec._PLANNER[:] = [None]  # numpy planner (the compiled one has the constant built in)
        dec.HEAD_MINOR_MIN_PAGE = 1
    try:
        w.plan(indptr, ids, last, HQ, HK, D, page_size)
    finally:
        dec._PLANNER[:] = saved_planner
        dec.HEAD_MINOR_MIN_PAGE = saved_min
        dec.MAX_ITEM_HEADS = saved_heads
    return w


def head_minor_changes(kv_lens, page_size, num_sms) -> bool:
    """Whether forcing the head-minor CTA order changes the plan of this batch (numpy planner)."""
    import numpy as np

    import cute_attn.decode as dec

    pages = [(n + page_size - 1) // page_size for n in kv_lens]
    base = np.concatenate(([0], np.cumsum(pages)[:-1]))
    saved = dec.HEAD_MINOR_MIN_PAGE
    try:
        works = []
        for m in (saved, 1):
            dec.HEAD_MINOR_MIN_PAGE = m
            works.append(dec.plan_decode_work(kv_lens, base, HQ, HK, D, num_sms, page_size=page_size, max_item_heads=1))
    finally:
        dec.HEAD_MINOR_MIN_PAGE = saved
    a, b = works
    return not (np.array_equal(a.items, b.items) and np.array_equal(a.cta_ptr, b.cta_ptr))


def labels_for(args, kv_lens, page_size, num_sms):
    labels = [(m, m, False) for m in args.modes]  # (label, mode, head-minor)
    if args.head_minor and page_size < 16 and head_minor_changes(kv_lens, page_size, num_sms):
        labels += [(f"{m}+hm", m, True) for m in ("sorted", "shuffled") if m in args.modes]
    return labels


def dense_check(q, cache, ids, kv_lens, page_size, out):
    """max |out - float32 attention over the K / V gathered through ``ids``| (equal-length batches only; query head
    j reads kv head j // (HQ / HK), as the kernel and SDPA's enable_gqa do)."""
    b, n = len(kv_lens), kv_lens[0]
    per = (n + page_size - 1) // page_size
    g = cache[ids.to(cache.device).long()].view(b, per, 2, page_size, HK, D)
    k = g[:, :, 0].reshape(b, per * page_size, HK, D)[:, :n].float()  # (b, n, HK, D)
    v = g[:, :, 1].reshape(b, per * page_size, HK, D)[:, :n].float()
    qg = q.float().view(b, HK, HQ // HK, D)
    p = torch.softmax(torch.einsum("bhgd,bnhd->bhgn", qg, k) / math.sqrt(D), dim=-1)
    ref = torch.einsum("bhgn,bnhd->bhgd", p, v).reshape(b, HQ, D)
    err = float((out.float() - ref).abs().max())
    del g, k, v, p, ref
    return err


def gather_fn(cache, ids, dst):
    """index_select of whole pages in table order into ``dst`` (one buffer shared by every mode of a case)."""
    src = cache.view(cache.shape[0], -1)
    idx = ids.long().to(src.device)
    return lambda: torch.index_select(src, 0, idx, out=dst)


def _sync():
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--cases", nargs="+", default=["64 x 4k", "16 x 16k"])
    p.add_argument("--pages", nargs="+", type=int, default=[16, 1])
    p.add_argument("--modes", nargs="+", type=pages_mode, default=MODES)
    p.add_argument("--head-minor", action="store_true", help="add <mode>+hm labels (sorted, shuffled) below page 16")
    p.add_argument("--gather", nargs="*", type=pages_mode, default=None,
                   help="modes whose index_select gather is timed too (no value: every mode)")
    p.add_argument("--repeats", type=int, default=2, help="passes over every case (fresh tables and caches)")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--rep-ms", type=float, default=40)
    p.add_argument("--flush", default="zero")
    p.add_argument("--budget-s", type=float, default=1e9, help="start no case after this many seconds")
    p.add_argument("--json")
    p.add_argument("--dry-run", action="store_true", help="CPU: build, validate and plan every table, then exit")
    args = p.parse_args(argv)
    if args.gather is not None and not args.gather:
        args.gather = list(args.modes)
    gather_modes = [m for m in (args.gather or []) if m in args.modes]
    t0 = time.time()
    combos = [(c, ps) for c in args.cases for ps in args.pages]
    if args.dry_run:
        n_fns = 0
        for name, ps in combos:
            kv_lens = case_lens(name)
            num_pages, indptr, last = table(kv_lens, ps)
            line = {"dry_run": name, "page": ps, "pages": num_pages, "MiB": num_pages * page_bytes_of(ps) / 2 ** 20}
            labels = labels_for(args, kv_lens, ps, 132)
            for label, mode, hm in labels:
                ids = mode_ids(num_pages, mode, ps, 1)
                info = check_ids(ids, mode, ps)
                w = plan(indptr, ids, last, ps, head_minor=hm, device="cpu")
                info["ctas"] = w._plan.grid
                line[label] = info
            n_fns += len(labels) + 1 + len(gather_modes)
            print(json.dumps(line), flush=True)
        timings = n_fns * args.rounds * args.repeats
        # per timing ~1.6 x rep_ms (flush writes between the calls, warm-up, do_bench's estimate), ~2 s per case
        # and repeat (cache, plans, dense checks), ~15 s of start-up (imports, copy bandwidth)
        print(json.dumps({"timings": timings, "est_s": round(timings * args.rep_ms * 1.6 / 1e3 + 2 * len(combos)
                                                                 * args.repeats + 15)}))
        return
    from torch.nn.attention import SDPBackend

    from bench import common
    from bench.decode import sdpa_decode

    compare, median = common.compare, common.median
    info = common.device_info()
    copy = common.copy_bandwidth_gbs(1 << 30)
    print(json.dumps({"device": info["device"], "copy_GBs": round(copy)}), flush=True)
    rows = []
    stopped = None
    for rep in range(args.repeats):
        for name, ps in combos:
            if time.time() - t0 > args.budget_s:
                stopped = {"stopped_before": [rep + 1, name, ps], "elapsed_s": round(time.time() - t0, 1)}
                print(json.dumps(stopped), flush=True)
                break
            kv_lens = case_lens(name)
            kv_bytes = sum(kv_lens) * HK * D * 2 * 2
            num_pages, indptr, last = table(kv_lens, ps)
            cache, raw_off = aligned_cache(num_pages, ps)
            q = torch.randn(len(kv_lens), HQ, D, dtype=DTYPE, device=DEVICE)
            fns, keep, structure, errs = {}, [], {}, {}
            dst = torch.empty(num_pages, cache[0].numel(), dtype=DTYPE, device=DEVICE) if gather_modes else None
            labels = labels_for(args, kv_lens, ps, info["sms"])
            for label, mode, hm in labels:
                ids = mode_ids(num_pages, mode, ps, rep + 1)
                structure[label] = check_ids(ids, mode, ps)
                w = plan(indptr, ids, last, ps, head_minor=hm)
                out = w.run(q, cache)
                if rep == 0 and len(set(kv_lens)) == 1:
                    errs[label] = dense_check(q, cache, ids, kv_lens, ps, out)
                keep.append((w, ids))
                fns[label] = lambda w=w: w.run(q, cache)
                if mode in gather_modes and not hm:
                    fns[f"gather {label}"] = gather_fn(cache, ids, dst)
            n = max(kv_lens)
            kd = torch.randn(len(kv_lens), HK, n, D, dtype=DTYPE, device=DEVICE)
            vd = torch.randn_like(kd)
            q4 = q.unsqueeze(2)
            fns["cudnn"] = lambda: sdpa_decode(q4, kd, vd, SDPBackend.CUDNN_ATTENTION)
            _sync()
            per = compare(fns, rounds=args.rounds, rep_ms=args.rep_ms, warm_s=1.0 if not rows else 0.4,
                          flush=args.flush)
            gathers = [k for k in per if k.startswith("gather ")]
            for label, ts in per.items():
                us = median(ts) * 1e3
                # > 1: faster than the first mode (a gather: than the first mode's gather)
                base = per[gathers[0] if label in gathers else labels[0][0]]
                vs_first = median([b / t for b, t in zip(base, ts)])
                vs_cudnn = median([c / t for c, t in zip(per["cudnn"], ts)])
                rows.append({"repeat": rep + 1, "case": name, "page": ps, "label": label, "us": us,
                             "GBs": kv_bytes / us / 1e3, "x_first": vs_first, "x_cudnn": vs_cudnn,
                             "rounds_us": [t * 1e3 for t in ts], "max_err": errs.get(label),
                             "structure": structure.get(label), "cache_raw_offset": raw_off})
                print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in rows[-1].items()
                                  if k != "rounds_us"}), flush=True)
            del fns, keep, cache, kd, vd, dst, out, q, q4
            if DEVICE == "cuda":
                torch.cuda.empty_cache()
        if stopped:
            break
    # compact table: one line per (case, page, label), the repeats side by side
    print(f"\n{info['device']}; copy {copy:.0f} GB/s; flush {args.flush}; {args.rounds} rounds x {args.rep_ms:.0f} ms; "
          f"x sorted = time(first mode) / time(label), median of the rounds (> 1: faster; a gather row: vs the first "
          f"mode's gather)")
    print("| case | page | label | us (per repeat) | GB/s | x sorted | x cuDNN | max err |")
    print("|---|---|---|---|---|---|---|---|")
    keys = []
    for r in rows:
        k = (r["case"], r["page"], r["label"])
        if k not in keys:
            keys.append(k)
    for k in keys:
        rs = [r for r in rows if (r["case"], r["page"], r["label"]) == k]
        err = next((r["max_err"] for r in rs if r["max_err"] is not None), None)
        print(f"| {k[0]} | {k[1]} | {k[2]} | " + " / ".join(f"{r['us']:.1f}" for r in rs)
              + " | " + " / ".join(f"{r['GBs']:.0f}" for r in rs)
              + " | " + " / ".join(f"{r['x_first']:.4f}" for r in rs)
              + " | " + " / ".join(f"{r['x_cudnn']:.3f}" for r in rs)
              + f" | {'' if err is None else f'{err:.1e}'} |")
    bad = [r for r in rows if r["max_err"] is not None and not (r["max_err"] <= 1e-2)]
    print(json.dumps({"elapsed_s": round(time.time() - t0, 1), "checks": sum(r["max_err"] is not None for r in rows),
                      "checks_failed": [(r["case"], r["page"], r["label"], r["max_err"]) for r in bad]}))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"info": info, "copy_GBs": copy, "args": vars(args), "rows": rows, "stopped": stopped}, f,
                      indent=1)


if __name__ == "__main__":
    main()
