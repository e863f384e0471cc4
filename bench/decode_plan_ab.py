"""Decode A/B of schedules and cache layouts in one process (session 13): for each case, at page 1 the default plan
against the head-minor CTA order forced on (``HEAD_MINOR_MIN_PAGE = 1``, through the numpy planner, which makes the
compiled planner's schedules), and at page 16 an NHD cache against the same data in HND; cuDNN SDPA (dense) in the same
rounds. ``--page16 rm``: at page 16 the default plan (head-minor there) against the request-major order
(``HEAD_MINOR_MIN_PAGE = 0``) instead of the layouts. Shuffled page ids, default ``plan(sort_pages=True)``. Outputs of
each pair are compared first (the same items, other CTAs: bit-identical expected).

    python -m bench.decode_plan_ab [--flush zero|read] [--rounds 6] [--page16 hnd|rm] [--page1 hm|none] [--json out.json]
        [--groups] [--head-dim 64|128|256]
"""

from __future__ import annotations

import argparse

import torch

import cute_attn
import cute_attn.decode as dec

from .common import FLUSH_MODES, compare, device_info, markdown_table, median, ratio, write_json
from .decode import CASES, D, DTYPE, HK, HQ, head_dim_arg, paged_inputs, sdpa_decode, use_head_dim

AB_CASES = ("64 x 4k", "128 x 1k", "16 x 16k")


def plan_with(cache_layout, indptr, indices, last, ps, head_minor_min_page=None):
    """A planned wrapper; ``head_minor_min_page`` set: planned by the numpy planner with that constant."""
    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(kv_layout=cache_layout)
    if head_minor_min_page is None:
        w.plan(indptr, indices, last, HQ, HK, D, ps)
        return w
    saved = dec._PLANNER[:], dec.HEAD_MINOR_MIN_PAGE
    dec._PLANNER[:] = [None]
    dec.HEAD_MINOR_MIN_PAGE = head_minor_min_page
    try:
        w.plan(indptr, indices, last, HQ, HK, D, ps)
    finally:
        dec._PLANNER[:], dec.HEAD_MINOR_MIN_PAGE = saved
    return w


def case_setup(kv_lens):
    """The bytes of KV a case reads, its queries, and cuDNN SDPA's dense decode over KV of the same shape (the peer of
    every A/B here)."""
    from torch.nn.attention import SDPBackend

    batch = len(kv_lens)
    q = torch.randn(batch, HQ, D, dtype=DTYPE, device="cuda")
    kd = torch.randn(batch, HK, max(kv_lens), D, dtype=DTYPE, device="cuda")
    vd = torch.randn_like(kd)
    return sum(kv_lens) * HK * D * 2 * 2, q, lambda: sdpa_decode(q.unsqueeze(2), kd, vd, SDPBackend.CUDNN_ATTENTION)


def group_order(items, num_ctas: int, seqs_per_request: int, g: int):
    """The items of a split-free plan whose CTAs each run k sequences, reordered so that groups of ``g`` CTAs run the
    same ``g * k / S`` requests together, CTA ``i`` of a group the heads ``[i S / g, (i + 1) S / g)`` of each, request
    by request (``S`` = sequences per request: ``g = 1`` is one CTA walking whole requests' heads in turn, ``g = S``
    the planner's head-minor order). None when ``g`` does not fit."""
    n_seq, width = items.shape
    S = seqs_per_request
    k = n_seq // num_ctas
    if k * num_ctas != n_seq or S % g or (g * k) % S or num_ctas % g:
        return None
    n = g * k // S
    return items.reshape(num_ctas // g, n, g, S // g, width).transpose(0, 2, 1, 3, 4).reshape(n_seq, width).copy()


def plan_grouped(indptr, indices, last, ps, g):
    """A wrapper planned by the numpy planner with request-major CTAs (``HEAD_MINOR_MIN_PAGE = 0``), its items then
    put in the ``g``-CTA group order (:func:`group_order`); None when the plan has splits or ``g`` does not fit."""
    orig = dec.plan_decode_work

    def grouped(*args, **kwargs):
        work = orig(*args, **kwargs)
        if work.num_splits == 0:
            num_ctas = work.num_ctas
            items = group_order(work.items, num_ctas, HK, g) if len(work.items) else None
            if items is not None and (work.cta_ptr[1:] - work.cta_ptr[:-1] == len(work.items) // num_ctas).all():
                work = dec.DecodeWork(items, work.cta_ptr, 0, 0)
                grouped.done = True
        return work

    grouped.done = False
    dec.plan_decode_work = grouped
    try:
        w = plan_with("NHD", indptr, indices, last, ps, head_minor_min_page=0)
    finally:
        dec.plan_decode_work = orig
    return w if grouped.done else None


def run_groups(name, kv_lens, ps, flush, rounds):
    """Every group size g of :func:`group_order` that fits, and the default plan, side by side with cuDNN."""
    kv_bytes, q, cudnn = case_setup(kv_lens)
    cache, indptr, indices, last = paged_inputs(kv_lens, ps)
    ws = {"default": plan_with("NHD", indptr, indices, last, ps)}
    for g in (1, 2, 4, 8):
        w = plan_grouped(indptr, indices, last, ps, g)
        if w is not None:
            ws[f"g{g}"] = w
    row = {"case": name, "page_size": ps, "flush": flush, "default_order": order_of(ws["default"])}
    row.update(time_against_default(ws, q, cache, cudnn, kv_bytes, rounds, flush))
    return row


def time_against_default(ws: dict, q, cache, cudnn, kv_bytes: int, rounds: int, flush: str) -> dict:
    """Planned wrappers ``ws`` (one named ``default``) on the same inputs: the largest |output - default's output|, then
    all of them and cuDNN timed side by side (:func:`bench.common.compare`): GB/s, % over the default, the default x
    cuDNN, cuDNN's GB/s and the rounds."""
    ref = ws["default"].run(q, cache).float()
    row = {"max_abs_diff": max((w.run(q, cache).float() - ref).abs().max().item() for w in ws.values())}
    fns = {k: (lambda w=w: w.run(q, cache)) for k, w in ws.items()}
    fns["cudnn"] = cudnn
    per = compare(fns, rounds=rounds, flush=flush)
    for k in ws:
        row[f"{k}_GBs"] = kv_bytes / median(per[k]) / 1e6
        if k != "default":
            row[f"{k}_vs_default_pct"] = 100 * median([x / y - 1 for x, y in zip(per["default"], per[k])])
    row["default_vs_cudnn"] = f"{ratio(per, 'default', 'cudnn'):.3f}x"
    row["cudnn_GBs"] = kv_bytes / median(per["cudnn"]) / 1e6
    row["rounds_ms"] = per
    return row


def order_of(w) -> str:
    """'head-minor' when the first CTA's items are of one kv head (k > 1), else 'request-major'."""
    work = w._plan.work
    first = work.items[work.cta_ptr[0]:work.cta_ptr[1]]
    return "head-minor" if len(first) > 1 and len(set(first[:, 1].tolist())) == 1 else "request-major"


def run_case(name, kv_lens, ps, flush, rounds, page16="hnd", page1="hm"):
    kv_bytes, q, cudnn = case_setup(kv_lens)
    cache, indptr, indices, last = paged_inputs(kv_lens, ps)
    if (ps == 1 and page1 == "kvsplit") or (ps == 16 and page16 == "kvsplit"):
        # the same pages as two caches (K and V in separate allocations, as a (k_cache, v_cache) tuple)
        a = plan_with("NHD", indptr, indices, last, ps)
        b = plan_with("NHD", indptr, indices, last, ps)  # the same plan, its own wrapper (each keeps its cache views)
        labels, caches = ("stacked", "kvsplit"), (cache, (cache[:, 0].contiguous(), cache[:, 1].contiguous()))
    elif ps == 1:
        a = plan_with("NHD", indptr, indices, last, ps)
        b = plan_with("NHD", indptr, indices, last, ps, head_minor_min_page=1)
        labels, caches = ("main", "hm"), (cache, cache)
    elif page16 == "rm":
        a = plan_with("NHD", indptr, indices, last, ps)
        b = plan_with("NHD", indptr, indices, last, ps, head_minor_min_page=0)
        labels, caches = ("main", "rm"), (cache, cache)
    else:
        a = plan_with("NHD", indptr, indices, last, ps)
        b = plan_with("HND", indptr, indices, last, ps)
        labels, caches = ("nhd", "hnd"), (cache, cache.permute(0, 1, 3, 2, 4).contiguous())
    outs = [w.run(q, c) for w, c in zip((a, b), caches)]
    diff = (outs[0].float() - outs[1].float()).abs().max().item()
    fns = {labels[0]: lambda: a.run(q, caches[0]), labels[1]: lambda: b.run(q, caches[1])}
    fns["cudnn"] = cudnn
    per = compare(fns, rounds=rounds, flush=flush)
    gbs = {k: kv_bytes / median(v) / 1e6 for k, v in per.items()}
    per_round = [x / y - 1 for x, y in zip(per[labels[0]], per[labels[1]])]  # time a / time b - 1: b's gain
    row = {"case": name, "page_size": ps, "flush": flush, "orders": f"{order_of(a)} / {order_of(b)}",
           "max_abs_diff": diff, f"{labels[0]}_GBs": gbs[labels[0]], f"{labels[1]}_GBs": gbs[labels[1]],
           "cudnn_GBs": gbs["cudnn"], "b_gain_pct_median": 100 * median(per_round),
           "b_gain_pct_min": 100 * min(per_round), "b_gain_pct_max": 100 * max(per_round),
           "b_won": f"{sum(g > 0 for g in per_round)}/{len(per_round)}",
           "a_vs_cudnn": f"{ratio(per, labels[0], 'cudnn'):.3f}x", "b_vs_cudnn": f"{ratio(per, labels[1], 'cudnn'):.3f}x",
           "rounds_ms": per}
    return row


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--flush", choices=FLUSH_MODES, default="zero")
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--page16", choices=("hnd", "rm", "kvsplit"), default="hnd")
    p.add_argument("--page1", choices=("hm", "kvsplit", "none"), default="hm", help="none: page 16 only")
    p.add_argument("--groups", action="store_true",
                   help="instead: every CTA group order g = 1, 2, 4, 8 against the default plan, pages 1 and 16")
    p.add_argument("--json")
    head_dim_arg(p)
    args = p.parse_args(argv)
    use_head_dim(args.head_dim, __name__)
    rows = []
    if args.groups:
        for name, kv_lens in CASES:
            if name in ("64 x 4k", "128 x 1k"):
                for ps in (1, 16):
                    rows.append(run_groups(name, kv_lens, ps, args.flush, args.rounds))
                    torch.cuda.empty_cache()  # the case's tensors went with run_groups' frame
                    print({k: v for k, v in rows[-1].items() if k != "rounds_ms"}, flush=True)
        cols = ["case", "page_size", "default_order", "max_abs_diff", "default_GBs", "g1_GBs", "g2_GBs", "g4_GBs",
                "g8_GBs", "cudnn_GBs", "g1_vs_default_pct", "g2_vs_default_pct", "g4_vs_default_pct",
                "g8_vs_default_pct", "default_vs_cudnn"]
        print(f"\n{device_info()['device']}; flush {args.flush}; gain of each group order over the default plan "
              "(time(default) / time(g) - 1, median of rounds)\n")
        print(markdown_table(rows, cols))
        write_json(args.json, {"flush": args.flush, "rows": rows})
        return
    for name, kv_lens in CASES:
        if name in AB_CASES:
            for ps in (1, 16) if args.page1 != "none" else (16,):
                rows.append(run_case(name, kv_lens, ps, args.flush, args.rounds, args.page16, args.page1))
                torch.cuda.empty_cache()  # the case's tensors went with run_case's frame
                print({k: v for k, v in rows[-1].items() if k != "rounds_ms"}, flush=True)
    info = device_info()
    b16 = {"hnd": "HND (same data)", "rm": "request-major order", "kvsplit": "K and V as two caches"}[args.page16]
    b1 = {"hm": "head-minor forced", "kvsplit": "K and V as two caches", "none": "-"}[args.page1]
    print(f"\n{info['device']}; flush {args.flush}; page 1: a = main plan, b = {b1}; page 16: a = NHD "
          f"default plan, b = {b16}; gain = time(a) / time(b) - 1 per round\n")
    cols = ["case", "page_size", "orders", "max_abs_diff", "main_GBs", "hm_GBs", "rm_GBs", "nhd_GBs", "hnd_GBs",
            "stacked_GBs", "kvsplit_GBs", "cudnn_GBs",
            "b_gain_pct_median", "b_gain_pct_min", "b_gain_pct_max", "b_won", "a_vs_cudnn", "b_vs_cudnn"]
    print(markdown_table(rows, cols))
    write_json(args.json, {"info": info, "flush": args.flush, "rows": rows})


if __name__ == "__main__":
    main()
