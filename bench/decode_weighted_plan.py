"""Decode A/B (session 21): a static plan that gives each CTA index bytes in proportion to its measured rate, against
the default plan, in one process (session 20 call 16's lead: the CTA -> SM placement repeats for a fixed grid and an
SM's finish time keeps its rank, so the equal-bytes plan leaves the fast SMs idle at the end).

The rates come from ``bench/decode_trace.py --raw`` on the same device (the default plan's per-CTA stamps; every CTA
reads the same bytes there, so CTA c's rate is 1 / (its last tile's time - its start)). The weighted plan cuts the
default plan's item stream (head-minor, whole sequences) at the weighted bounds (tile multiples); an item a bound
falls in becomes a two-part split, merged by the kernel as any split. Labels:

- ``w_first``: the weights, each CTA's split pieces first (the merges early, off the end);
- ``w_stream``: the weights, items in stream order (a CTA's last piece, and so its merge, at its end);
- ``ctl``: the same construction with the weights permuted over the CTAs (the splits' cost without the balance).

    python -m bench.decode_weighted_plan --raw trace.npz [--cases "64 x 4k" "128 x 1k"] [--flush read] [--rounds 6]

Outputs are compared with the default plan's (the merges round differently: a small nonzero max |diff|).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

import cute_attn
import cute_attn.decode as dec
from cute_attn.layouts.decode_work import DECODE_TILES, Item

from .common import device_info, markdown_table, ratio, write_json
from .decode import HK, HQ, D
from .decode_ab import case_inputs, case_lens
from .decode_plan_ab import case_setup, plan_with, time_against_default

TILE = DECODE_TILES[D][0]  # the decode kernel's KV rows per pipeline stage at the bench's head dim


def cta_rates(raw: np.ndarray) -> np.ndarray:
    """Per CTA index: bytes per us relative units, 1 / mean(last tile - start) over the launches (stamps of
    ``decode_trace``: column 0 the CTA's start, 2 its last tile's GEMMs done, globaltimer_lo ns)."""
    t = raw.astype(np.int64)
    dur = ((t[:, :, 2] - t[:, :, 0]) & 0xFFFFFFFF) / 1e3
    return 1.0 / dur.mean(axis=0)


def weighted_work(work: dec.DecodeWork, weights: np.ndarray, pieces_first: bool) -> dec.DecodeWork:
    """The default plan's item stream (CTA order) cut at bounds proportional to ``weights`` (one per CTA)."""
    items, ptr = work.items, work.cta_ptr
    C = len(ptr) - 1
    assert len(weights) == C and work.num_splits == 0
    rows = (items[:, Item.KV_END] - items[:, Item.KV_START]).astype(np.int64)
    ends = np.cumsum(rows)
    starts = ends - rows
    total = int(ends[-1])
    w = np.asarray(weights, np.float64) / np.sum(weights)
    bounds = np.round(np.cumsum(w)[:-1] * total / TILE).astype(np.int64) * TILE
    # a bound within a tile of an item boundary moves onto it (no one-tile pieces)
    for i, b in enumerate(bounds):
        k = np.searchsorted(ends, b)
        if k < len(ends):
            for edge in (starts[k], ends[k]):
                if abs(edge - b) < TILE:
                    bounds[i] = edge
    out, cta_of, first_of = [], [], []
    splits = tmp = 0
    for i in range(len(items)):
        s, e = starts[i], ends[i]
        pts = [s, *[int(b) for b in np.unique(bounds[(bounds > s) & (bounds < e)])], e]
        n = len(pts) - 1
        for p in range(n):
            row = items[i].copy()
            row[Item.KV_START] = items[i, Item.KV_START] + pts[p] - s
            row[Item.KV_END] = items[i, Item.KV_START] + pts[p + 1] - s
            if n > 1:
                row[Item.MERGE_ID], row[Item.PART], row[Item.NUM_PARTS], row[Item.TMP_BASE] = splits, p, n, tmp
            out.append(row)
            cta_of.append(int(np.searchsorted(bounds, pts[p], side="right")))
            first_of.append(0 if (n > 1 and pieces_first) else 1)
        if n > 1:
            tmp += -(-n * int(items[i, Item.ROWS]) // dec.TMP_ALIGN_ROWS) * dec.TMP_ALIGN_ROWS
            splits += 1
    order = np.lexsort((np.arange(len(out)), np.array(first_of), np.array(cta_of)))
    new = np.stack(out)[order].astype(np.int32)
    cta_ptr = np.zeros(C + 1, np.int32)
    np.cumsum(np.bincount(np.array(cta_of), minlength=C), out=cta_ptr[1:])
    return dec.DecodeWork(new, cta_ptr, splits, tmp)


def plan_weighted(indptr, indices, last, ps, weights, pieces_first):
    """A wrapper planned by the numpy planner (:func:`bench.decode_plan_ab.plan_with`, the shipped head-minor rule)
    whose schedule is replaced by :func:`weighted_work` of its own."""
    orig = dec.plan_decode_work

    def weighted(*args, **kwargs):
        weighted.work = weighted_work(orig(*args, **kwargs), weights, pieces_first)
        return weighted.work

    dec.plan_decode_work = weighted
    try:
        w = plan_with("NHD", indptr, indices, last, ps, head_minor_min_page=dec.HEAD_MINOR_MIN_PAGE)
    finally:
        dec.plan_decode_work = orig
    return w, weighted.work


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--raw", required=True, help="decode_trace --raw npz of these cases (default plan, same device)")
    p.add_argument("--cases", nargs="+", default=["64 x 4k", "128 x 1k"])
    p.add_argument("--page", type=int, default=16)
    p.add_argument("--flush", default="read", choices=("zero", "read"))
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--seed", type=int, default=0, help="the control's permutation of the weights")
    p.add_argument("--json")
    args = p.parse_args(argv)
    raw = np.load(args.raw)
    info = device_info()
    rows = []
    for name in args.cases:
        key = [k for k in raw.files if k.startswith(name.replace(" ", "_") + f"__{args.page}__")]
        if not key:
            print(f"{name}: no stamps in {args.raw}", flush=True)
            continue
        rates = cta_rates(raw[key[0]])
        kv_lens = case_lens(name)
        cache, indptr, indices, last, q = case_inputs(kv_lens, args.page)
        kv_bytes, q2, cudnn = case_setup(kv_lens)
        ws = {"default": cute_attn.BatchDecodeWithPagedKVCacheWrapper()}
        ws["default"].plan(indptr, indices, last, HQ, HK, D, args.page)
        if ws["default"]._plan.work.num_ctas != len(rates) or ws["default"]._plan.work.num_splits:
            print(f"{name}: the default plan has {ws['default']._plan.work.num_ctas} CTAs / splits, the stamps "
                  f"{len(rates)}: skipped", flush=True)
            continue
        perm = np.random.default_rng(args.seed).permutation(len(rates))
        works = {}
        for label, wts, first in (("w_first", rates, True), ("w_stream", rates, False), ("ctl", rates[perm], True)):
            ws[label], works[label] = plan_weighted(indptr, indices, last, args.page, wts, first)
        row = {"case": name, "page": args.page, "flush": args.flush, "rate_spread_pct":
               100 * (rates.max() / rates.min() - 1), "splits": works["w_first"].num_splits}
        row.update(time_against_default(ws, q, cache, cudnn, kv_bytes, args.rounds, args.flush))
        per = row["rounds_ms"]
        row["w_first_vs_cudnn"] = f"{ratio(per, 'w_first', 'cudnn'):.3f}x"
        rows.append(row)
        print({k: v for k, v in row.items() if k != "rounds_ms"}, flush=True)
        del ws, cache
        torch.cuda.empty_cache()
    cols = ["case", "page", "flush", "rate_spread_pct", "splits", "max_abs_diff", "default_GBs", "w_first_vs_default_pct",
            "w_stream_vs_default_pct", "ctl_vs_default_pct", "default_vs_cudnn", "w_first_vs_cudnn"]
    print(f"\n{info['device']}, {info['date']}; weights from {args.raw}\n")
    print(markdown_table(rows, cols))
    write_json(args.json, {"info": info, "rows": rows})


if __name__ == "__main__":
    main()
