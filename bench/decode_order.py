"""Decode read-order experiment (issue 6, lever b): does reading the 8 kv heads of the same pages at the
same time (8 CTAs in lockstep over one request) raise the DRAM rate? Hand-made 128-CTA schedules
replace the planner's (no splits; every CTA gets the same rows), so only the order differs:

- ``major``: CTA c runs sequences [c k, (c + 1) k) in (request, kv head) order: at any moment 2 CTAs
  read the same request's pages (heads h and h + 4 when k = 4);
- ``minor``: CTA 8 g + h runs kv head h of requests [g B / 16, (g + 1) B / 16): the 8 head-rows of a
  page are read by 8 CTAs in the same window;
- ``plan``: the planner's schedule (132 CTAs, split sequences).

    python3 bench/decode_order.py --json out.json      (PYTHONPATH = a checkout with its build)
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

import cute_attn
from bench.common import time_ms
from bench.decode import CASES, DTYPE, HK, HQ, D, paged_inputs
from cute_attn.layouts.decode_work import ITEM_WIDTH, Item

CTAS = 128


def schedule(order: str, kv_lens, indptr) -> tuple[np.ndarray, np.ndarray]:
    batch = len(kv_lens)
    group = HQ // HK
    seqs = [(b, h) for b in range(batch) for h in range(HK)]
    per = len(seqs) // CTAS
    assert per * CTAS == len(seqs) and batch % (CTAS // HK) == 0
    if order == "major":
        lists = [seqs[c * per:(c + 1) * per] for c in range(CTAS)]
    else:
        reqs = batch // (CTAS // HK)
        lists = [[(g * reqs + j, h) for j in range(reqs)] for g in range(CTAS // HK) for h in range(HK)]
    rows = []
    for lst in lists:
        for b, h in lst:
            row = [0] * ITEM_WIDTH
            row[Item.BATCH], row[Item.KV_HEAD], row[Item.HEAD0], row[Item.ROWS] = b, h, h * group, group
            row[Item.KV_START], row[Item.KV_END], row[Item.PAGE_BASE], row[Item.MERGE_ID] = 0, kv_lens[b], int(indptr[b]), -1
            rows.append(row)
    cta_ptr = np.arange(CTAS + 1, dtype=np.int32) * per
    return np.array(rows, np.int32), cta_ptr


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--label", default="")
    p.add_argument("--cases", nargs="+", default=["64 x 4k", "128 x 1k"])
    p.add_argument("--pages", nargs="+", type=int, default=[16, 1])
    p.add_argument("--orders", nargs="+", default=["plan", "major", "minor", "plan", "minor", "major"])
    p.add_argument("--json")
    args = p.parse_args(argv)
    cases = dict(CASES)
    out = []
    for name in args.cases:
        kv_lens = cases[name]
        kv_bytes = sum(kv_lens) * HK * D * 2 * 2
        for page_size in args.pages:
            torch.manual_seed(page_size)
            cache, indptr, indices, last = paged_inputs(kv_lens, page_size)
            q = torch.randn(len(kv_lens), HQ, D, dtype=DTYPE, device="cuda")
            ref = None
            for order in args.orders:
                w = cute_attn.BatchDecodeWithPagedKVCacheWrapper()
                w.plan(indptr, indices, last, HQ, HK, D, page_size)
                if order != "plan":
                    items, cta_ptr = schedule(order, kv_lens, indptr.numpy())
                    plan = w._plan
                    plan.items[: len(items)].copy_(torch.from_numpy(items))
                    plan.cta_ptr[: CTAS + 1].copy_(torch.from_numpy(cta_ptr))
                    plan.grid = CTAS
                o = w.run(q, cache)
                if ref is None:
                    ref = o.float()
                err = (o.float() - ref).abs().max().item()
                ms = time_ms(lambda: w.run(q, cache))
                row = {"label": args.label, "case": name, "page": page_size, "order": order, "us": ms * 1e3,
                       "GBs": kv_bytes / ms / 1e6, "max_err_vs_plan": err}
                out.append(row)
                print(json.dumps(row), flush=True)
            del cache
            torch.cuda.empty_cache()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
