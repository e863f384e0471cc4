"""Paged prefill / append TFLOP/s next to our dense ragged kernel on the same problem, same process.

    python -m bench.prefill_paged [--json out.json] [--pages contiguous] [--rounds N]
    ncu --clock-control none --nvtx --nvtx-include "dense/" --nvtx-include "page16/" ... \
        python3 -m bench.prefill_paged --profile     # one launch each, 4 x 4k, in NVTX ranges

hd128 causal bf16 (``--head-dim``), 16 query heads and 16 kv heads (as bench.prefill); ``--tiles auto,0,128``
times the paged variants of hd64 causal side by side (the plan's choice, each tile forced). The paged cache holds the same K/V
rows as the dense tensors, on shuffled page ids (page sizes 1, 16, 64; ``--pages contiguous``: page ids in
order, each request's pages adjacent, to tell the kernel's cost from the memory locality of the pages). FLOPs are counted causal-aware
(bottom-right): 2 * visible query-key pairs * heads * (head_dim + head_dim_v).
"""

from __future__ import annotations

import argparse
import importlib

import torch

import cute_attn

from .common import (compare, device_info, forced_tile, markdown_table, median, profile_launch, ratio, timing_arg,
                     use_timing, write_json)
from .prefill import visible_pairs

PAGE_SIZES = (1, 16, 64)
CASES = (  # (name, q_lens, kv_lens)
    ("prefill 4x4k", [4096] * 4, [4096] * 4),
    ("prefill 16x1k", [1024] * 16, [1024] * 16),
    ("append 512 on 8k, x4", [512] * 4, [8192] * 4),
)
LONG_CASES = (  # --long: requests long enough for the 192-row table tiles (hd128, hd64 causal)
    ("prefill 1x16k", [16384], [16384]),
    ("prefill 2x8k", [8192] * 2, [8192] * 2),
)


def paged_copy(k, v, kv_lens, page_size, gen, shuffled=True):
    """The ragged K/V rows laid into a paged NHD cache on shuffled (or in-order) page ids; returns the cache
    and table."""
    pages_per = [(n + page_size - 1) // page_size for n in kv_lens]
    num_pages = sum(pages_per)
    ids = (torch.randperm(num_pages, generator=gen) if shuffled else torch.arange(num_pages)).to(torch.int32)
    hk, d = k.shape[1], k.shape[2]
    kc = torch.zeros(num_pages, page_size, hk, d, dtype=k.dtype, device=k.device)
    vc = torch.zeros_like(kc)
    row = 0
    for b, n in enumerate(kv_lens):
        first = sum(pages_per[:b])
        pages = ids[first:first + pages_per[b]].long().to(k.device)
        slots = torch.arange(n, device=k.device)
        kc[pages[slots // page_size], slots % page_size] = k[row:row + n]
        vc[pages[slots // page_size], slots % page_size] = v[row:row + n]
        row += n
    indptr = torch.tensor([0] + torch.tensor(pages_per).cumsum(0).tolist(), dtype=torch.int32)
    last = torch.tensor([(n - 1) % page_size + 1 for n in kv_lens], dtype=torch.int32)
    return (kc, vc), indptr, ids, last


def dense_case(q_lens, kv_lens, heads, d, causal, dtype):
    """Random q / k / v of a ragged batch, our dense kernel's output on them (the reference the paged runs must
    equal bitwise) and its timed callable: ``(qo_indptr, q, k, v, out, ref, {"dense": fn}, flops)``."""
    qo = [0] + torch.tensor(q_lens).cumsum(0).tolist()
    kv = [0] + torch.tensor(kv_lens).cumsum(0).tolist()
    q = torch.randn(qo[-1], heads, d, dtype=dtype, device="cuda")
    k = torch.randn(kv[-1], heads, d, dtype=dtype, device="cuda")
    v = torch.randn(kv[-1], heads, d, dtype=dtype, device="cuda")
    flops = sum(2 * visible_pairs(ql, kl, causal) * heads * 2 * d for ql, kl in zip(q_lens, kv_lens))
    dense = cute_attn.BatchPrefillWithRaggedKVCacheWrapper()
    dense.plan(qo, kv, heads, heads, d, causal=causal, q_data_type=dtype)
    out = torch.empty(qo[-1], heads, d, dtype=dtype, device="cuda")
    ref = dense.run(q, k, v)
    return qo, q, k, v, out, ref, {"dense": lambda: dense.run(q, k, v, out=out)}, flops


def column(ps: int, tile_m) -> str:
    if tile_m is None:
        return f"page{ps}"
    return f"page{ps}_{tile_m}" if tile_m == "nosplit" else f"page{ps}_t{tile_m}"


def paged_case_fns(name, q_lens, kv_lens, heads=16, d=128, causal=True, dtype=torch.bfloat16, shuffled=True,
                   tiles=(None,)):
    """Every kernel of the case (dense, page 1, 16, 64) set up and checked (gathered == dense, bitwise; to bf16
    rounding where the paged config is not the dense one's, e.g. hd64 causal): ``(fns, flops, kernels)``, ``fns``
    the timed callables by column (``dense``, ``page<ps>``, or ``page<ps>_t<tile_m>`` for a forced tile), ``kernels``
    the paged variants' names. ``tiles``: the paged variants per page size (None: the plan's choice, else a forced
    ``tile_m``)."""
    # bitwise where both kernels run hd128's 128 x 128 tile (the same consumers since paged-v5); elsewhere (the 192-row
    # tiles, a forced tile the dense plan did not pick, hd64 / hd256 causal) to bf16 rounding, the difference printed
    # with the kernel names
    from cute_attn.kernels.common.config import prefill_tile

    P = importlib.import_module("cute_attn.prefill")
    dense_tile = prefill_tile(d, d, causal, P.choose_tile_m(q_lens, d, d, causal))
    gen = torch.Generator().manual_seed(0)
    qo, q, k, v, out, ref, fns, flops = dense_case(q_lens, kv_lens, heads, d, causal, dtype)
    kernels = {}
    for ps in PAGE_SIZES:
        cache, indptr, ids, last = paged_copy(k, v, kv_lens, ps, gen, shuffled)
        for tile_m in tiles:
            w = cute_attn.BatchPrefillWithPagedKVCacheWrapper()
            with forced_tile(tile_m):
                w.plan(qo, indptr, ids, last, heads, heads, d, ps, causal=causal, q_data_type=dtype)
            got = w.run(q, cache)
            col = column(ps, tile_m)
            kernels[col] = w._plan.spec.name + (f" split {w._plan.split}" if w._plan.split else "")
            if not torch.equal(got, ref):
                if d == 128 and dense_tile == (128, 128) == prefill_tile(d, d, causal, w._plan.spec.tile_m, True):
                    raise AssertionError(f"{name}: page {ps} differs from dense")
                diff = (got.float() - ref.float()).abs().max().item()
                if not diff <= 2e-2:
                    raise AssertionError(f"{name}: {col} differs from dense by {diff:.3g}")
                kernels[col] += f" (x dense: {diff:.2g})"
            fns[col] = lambda w=w, cache=cache: w.run(q, cache, out=out)
    return fns, flops, kernels


def bench_case_rounds(name, q_lens, kv_lens, rounds, heads=16, d=128, causal=True, dtype=torch.bfloat16,
                      shuffled=True, tiles=(None,)):
    """The case's kernels (:func:`paged_case_fns`) timed side by side by :func:`bench.common.compare`: a warm-up to
    the board's steady power-capped clock, then ``rounds`` interleaved rounds in alternating order, so a drift of the
    clock bills every column alike (timed one after the other, dense first, the paged columns were billed the lower
    clock: paged-v5). Reports the medians over the rounds and the median of the per-round ratios."""
    fns, flops, kernels = paged_case_fns(name, q_lens, kv_lens, heads, d, causal, dtype, shuffled, tiles)
    per = compare(fns, rounds=rounds, rep_ms=100)
    row = {"case": name, "heads": heads, "rounds_ms": per, "kernels": kernels}
    row["dense"] = flops / median(per["dense"]) / 1e9
    for ps in PAGE_SIZES:
        for tile_m in tiles:
            col = column(ps, tile_m)
            row[col] = flops / median(per[col]) / 1e9
            row[f"{col}/dense"] = f"{ratio(per, col, 'dense'):.3f}x"
    return row


def profile(q_lens=(4096,) * 4, heads=16, d=128, dtype=torch.bfloat16):
    """One launch of the dense kernel and of the paged one (page 1, 16 and 64 on shuffled page ids, page 64 also
    in order), each in an NVTX range named after it (``dense``, ``page1``, ``page16``, ``page64``, ``page64c``),
    for Nsight Compute."""
    gen = torch.Generator().manual_seed(0)
    qo = [0] + torch.tensor(q_lens).cumsum(0).tolist()
    q, k, v = (torch.randn(qo[-1], heads, d, dtype=dtype, device="cuda") for _ in range(3))
    out = torch.empty_like(q)
    dense = cute_attn.BatchPrefillWithRaggedKVCacheWrapper()
    dense.plan(qo, qo, heads, heads, d, causal=True, q_data_type=dtype)
    runs = [("dense", lambda: dense.run(q, k, v, out=out))]
    for ps, shuffled in ((1, True), (16, True), (64, True), (64, False)):
        cache, indptr, ids, last = paged_copy(k, v, list(q_lens), ps, gen, shuffled)
        w = cute_attn.BatchPrefillWithPagedKVCacheWrapper()
        w.plan(qo, indptr, ids, last, heads, heads, d, ps, causal=True, q_data_type=dtype)
        runs.append((f"page{ps}{'' if shuffled else 'c'}", lambda w=w, cache=cache: w.run(q, cache, out=out)))
    for name, fn in runs:
        profile_launch(name, name, fn)


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--json")
    timing_arg(p)
    p.add_argument("--pages", choices=("shuffled", "contiguous"), default="shuffled")
    p.add_argument("--profile", action="store_true", help="one launch per kernel in NVTX ranges (for ncu)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds per case (after a warm-up)")
    p.add_argument("--head-dim", type=int, default=128, help="head dim of every case (16 heads)")
    p.add_argument("--mask", choices=("causal", "full"), default="causal")
    p.add_argument("--long", action="store_true", help="the long-request cases (1 x 16k, 2 x 8k) instead")
    p.add_argument("--tiles", default="auto",
                   help="paged variants per page size, comma-separated: auto (the plan's choice), nosplit (the plan's "
                        "choice without the split of the last round) or a forced tile_m (0: the table tile; 128: the "
                        "short-request tile)")
    args = p.parse_args(argv)
    use_timing(args.timing)
    if args.profile:
        profile()
        return
    tiles = tuple(None if t == "auto" else t if t == "nosplit" else int(t) for t in args.tiles.split(","))
    rows = [bench_case_rounds(*c, max(1, args.rounds), d=args.head_dim, causal=args.mask == "causal",
                              shuffled=args.pages == "shuffled", tiles=tiles) for c in (LONG_CASES if args.long else CASES)]
    cols = ["case", "dense"]
    for ps in PAGE_SIZES:
        for tile_m in tiles:
            cols += [column(ps, tile_m), f"{column(ps, tile_m)}/dense"]
    print(f"paged prefill, hd{args.head_dim} {args.mask} bf16, TFLOP/s, {args.pages} pages; {device_info()['device']}")
    print(markdown_table(rows, cols))
    for row in rows:
        print(f"{row['case']}: " + ", ".join(f"{c} {n}" for c, n in row["kernels"].items()))
    if args.json:
        write_json(args.json, {"env": device_info(), "pages": args.pages, "head_dim": args.head_dim, "mask": args.mask,
                               "tiles": args.tiles, "rows": rows})


if __name__ == "__main__":
    main()
