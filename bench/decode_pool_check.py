"""GPU correctness of the decode tail pool (A/B, session 27; kernels/decode_sm90.py POOL, cute_attn.decode POOL_TILES)
for a tagged pool build of the bf16 hd128 one-item variant (``bench/decode_build_tagged.py pool DIR stages=3`` with
``CUTE_ATTN_DECODE_POOL=1``): per case, the pooled plan on that build against the float64 paged reference (the GPU
tests' check: NaN-poisoned outputs, error within 3x the same-dtype reference's), ten reruns bit-identical to the first
(the micro-parts land in their own slots whichever CTA runs them), every split and claim counter back to zero after each
run, and the default plan on the same build alike (its kernel must behave as main's there).

    CUTE_ATTN_POISON=1 python3 bench/decode_pool_check.py --build DIR [--label pool] [--json out.json]

Exit status 1 when any check fails.
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))

import cute_attn  # noqa: E402
import cute_attn.decode as CD  # noqa: E402
from cute_attn.artifacts import _load_library  # noqa: E402
from cute_attn.layouts.decode_work import POOL_BIT, Item, PoolDesc  # noqa: E402
from pages import random_page_table  # noqa: E402
from test_gpu_decode import check, make_cache, reference  # noqa: E402

# (kv_lens, hq, hk, page sizes, layout, POOL_TILES)
CASES = [
    ([32768], 32, 8, (16, 1), "NHD", 2),
    ([32768], 32, 8, (16,), "NHD", 1),
    ([20013], 32, 8, (16, 1), "NHD", 2),
    ([20013], 32, 8, (16,), "HND", 2),
    ([32768, 32768], 32, 8, (16,), "NHD", 3),
    ([9001], 64, 8, (16,), "NHD", 2),
    ([9001], 16, 1, (64,), "NHD", 2),
    ([16411], 8, 8, (1,), "NHD", 2),
]


def run_case(kernel, kv_lens, hq, hk, page_size, layout, tiles, seed) -> dict:
    gen = torch.Generator().manual_seed(seed)
    d, dtype = 128, torch.bfloat16
    num_pages, indptr, indices, last = random_page_table(gen, kv_lens, page_size)
    k, v = make_cache(gen, kv_lens, indptr, indices, num_pages, page_size, hk, d, dtype, layout)
    q = torch.randn(len(kv_lens), hq, d, generator=gen).to(dtype)
    ref = reference(q, k, v, indptr, indices, last, 1 / math.sqrt(d), layout)
    cache = (k.cuda(), v.cuda())
    line = {"case": f"{len(kv_lens)} x {kv_lens[0]}", "hq": hq, "hk": hk, "page": page_size, "layout": layout,
            "tiles": tiles}
    for label, knob in (("pool", tiles), ("default", 0)):
        CD.POOL_TILES = knob
        try:
            w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(kv_layout=layout)
            w.plan(indptr, indices, last, hq, hk, d, page_size, sort_pages=False)
        finally:
            CD.POOL_TILES = 0
        plan = w._plan
        n = plan.grid
        pooled = bool(((plan.items[: int(plan.cta_ptr[n]), Item.HEADS_LOG2] >> POOL_BIT) & 1).any())
        micro = int(plan.items[n:, PoolDesc.TILES].sum()) if pooled else 0
        plan.kernel = kernel
        res = {"ctas": n, "spec": plan.spec.name, "micro_parts": micro}
        try:
            out, lse = w.run(q.cuda(), cache, return_lse=True)
            torch.cuda.synchronize()
            check(out, lse, *ref)
            first = (out.clone(), lse.clone())
            rerun, counters = 0.0, 0
            for _ in range(10):
                o, l2 = w.run(q.cuda(), cache, return_lse=True)
                torch.cuda.synchronize()
                counters = max(counters, int(w._counters[: plan.work.num_splits].abs().sum()))
                rerun = max(rerun, float((o.float() - first[0].float()).abs().max()), float((l2 - first[1]).abs().max()))
            res.update(ok=rerun == 0.0 and counters == 0, rerun_max_diff=rerun, counters_left=counters,
                       err=float((out.cpu().double() - ref[0]).abs().max()))
            if label == "pool" and tiles and not pooled:
                res.update(ok=False, why="the knob made no pooled plan")
        except AssertionError as e:
            res.update(ok=False, why=str(e)[:300])
        line[label] = res
    return line


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--build", required=True, help="directory of the tagged pool build")
    p.add_argument("--label", default="pool")
    p.add_argument("--json")
    args = p.parse_args(argv)
    found = glob.glob(os.path.join(args.build, f"decode_*__{args.label}.so"))
    assert len(found) == 1, found
    kernel = _load_library(found[0], os.path.basename(found[0])[: -len(".so")])
    lines, failed = [], 0
    for i, (kv_lens, hq, hk, pages, layout, tiles) in enumerate(CASES):
        for page_size in pages:
            line = run_case(kernel, kv_lens, hq, hk, page_size, layout, tiles, seed=100 + i)
            failed += not (line["pool"]["ok"] and line["default"]["ok"])
            lines.append(line)
            print(json.dumps(line), flush=True)
    print(json.dumps({"cases": len(lines), "failed": failed}), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(lines, f, indent=1)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
