"""A/B of prefill host choices on the GPU, same process, same inputs, next to cuDNN SDPA: tile variant
(``choose_tile_m`` forced) and work-list order (the package's vs experimental orders), alternating passes.

    python -m bench.prefill_ab [--json out.json] [--passes 2]

Experimental order ``bucketN``: the tiles of long requests grouped into cost buckets of N query tiles,
heaviest bucket first, inside a bucket by kv head and then heaviest first: the CTAs running at once
share ~132 / N heads' K/V in L2 instead of every head's, at the price of a coarser heaviest-first order.
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

import importlib

import cute_attn

P = importlib.import_module("cute_attn.prefill")  # the package's ``prefill`` attribute is the function

from .common import device_info, forced_tile, markdown_table, time_ms, write_json
from .prefill import visible_pairs


def _serpentine_work(rows: torch.Tensor, num_ctas: int) -> torch.Tensor:
    """The kernel's work tensor for rows in this order, dealt serpentine over ``num_ctas`` CTAs (as before session 8's
    list schedules; the order is the experiment)."""
    work, n, _ = P.schedule_work(rows, [0] * len(rows), num_ctas, only="serpentine")
    assert n == num_ctas
    return work.cuda()


def reorder_bucketed(work: torch.Tensor, q_lens, tile_m: int, causal: bool, group: int, bucket: int):
    rows = work.tolist()

    def key(r):
        b, m, h, _ = r
        ql = q_lens[b]
        cost = min((m + 1) * tile_m, ql) if causal else ql
        return (-(cost // (bucket * tile_m)), b, h // group, -cost)

    return torch.tensor(sorted(rows, key=key), dtype=torch.int32).reshape(-1, 4)


def run_case(batch, seqlen, hd, causal, variants, passes):
    heads = 2048 // hd
    dtype = torch.bfloat16
    q = torch.randn(batch * seqlen, heads, hd, dtype=dtype, device="cuda")
    k, v = torch.randn_like(q), torch.randn_like(q)
    out = torch.empty_like(q)
    flops = 2 * batch * visible_pairs(seqlen, seqlen, causal) * heads * 2 * hd
    indptr = list(range(0, batch * seqlen + 1, seqlen))
    wrappers = {}
    for name in variants:
        # "t<M>": the variant forced; "sec" / "bucket" re-deal the plan's rows: whole tiles only (no split)
        force = int(name[1:]) if name.startswith("t") else "nosplit" if name.startswith(("sec", "bucket")) else None
        with forced_tile(force):
            w = cute_attn.BatchPrefillWithRaggedKVCacheWrapper()
            w.plan(indptr, indptr, heads, heads, hd, causal=causal, q_data_type=dtype)
        if name.startswith("sec"):  # sections of <N> KB of K/V (every pair small)
            tile_m = P.tile_m_for(hd, hd, causal, w._plan.spec.tile_m)
            work = P.make_work_list([seqlen] * batch, [seqlen] * batch, heads, tile_m, causal, heads, 4 * hd,
                                    section_bytes=int(name[3:]) << 10, small_unit_bytes=1 << 40)
            w._plan.work = _serpentine_work(work, w._plan.num_ctas)
        if name.startswith("bucket"):
            tile_m = P.tile_m_for(hd, hd, causal, w._plan.spec.tile_m)
            _, rows = P.split_work(w._plan.work.cpu(), w._plan.num_ctas)
            work = reorder_bucketed(rows, [seqlen] * batch, tile_m, causal, 1, int(name[6:]))
            w._plan.work = _serpentine_work(work, w._plan.num_ctas)
        wrappers[name] = w
    ref = None
    for name, w in wrappers.items():  # every variant computes the same result
        o = w.run(q, k, v).float()
        if ref is None:
            ref = o
        elif not torch.allclose(o, ref, atol=2e-2, rtol=0):
            raise AssertionError(f"{name} differs from {next(iter(wrappers))}: {(o - ref).abs().max().item()}")
    qb, kb, vb = (t.view(batch, seqlen, heads, -1).transpose(1, 2) for t in (q, k, v))
    res = {n: [] for n in list(wrappers) + ["cudnn"]}
    for p in range(passes):
        names = list(wrappers) if p % 2 == 0 else list(reversed(list(wrappers)))
        for name in names:
            res[name].append(flops / time_ms(lambda w=wrappers[name]: w.run(q, k, v, out=out)) / 1e9)
        with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
            res["cudnn"].append(flops / time_ms(lambda: F.scaled_dot_product_attention(qb, kb, vb, is_causal=causal)) / 1e9)
    row = {"case": f"hd{hd} {'causal' if causal else 'full'}", "shape": f"{batch}x{seqlen}"}
    cud = max(res["cudnn"])
    for name, vals in res.items():
        row[name] = " / ".join(f"{x:.0f}" for x in vals)
        if name != "cudnn":
            row[name] += f" ({max(vals) / cud:.2f}x)"
    return row, res


# run 25 (2026-11-23): t128 vs t0 at hd64 causal 16 x 1k 0.92-0.93x vs 0.77x cuDNN (kept: the plan picks it);
# bucket orders at 16k no better than pkg (dropped). Run 26: section sizes at 1k / 4k (2 MB kept).
# Run 27: two Q buffers, A/B/A across processes (same cases, the package's plan).
CASES = [
    (16, 1024, 64, True, ["pkg"]),
    (16, 1024, 128, True, ["pkg"]),
    (16, 1024, 256, True, ["pkg"]),
    (16, 1024, 128, False, ["pkg"]),
    (4, 4096, 128, True, ["pkg"]),
    (1, 16384, 64, True, ["pkg"]),
    (1, 16384, 128, True, ["pkg"]),
    (1, 16384, 128, False, ["pkg"]),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    ap.add_argument("--passes", type=int, default=2)
    args = ap.parse_args()
    info = device_info()
    print(info)
    rows, raw = [], []
    for batch, seqlen, hd, causal, variants in CASES:
        try:
            row, res = run_case(batch, seqlen, hd, causal, variants, args.passes)
        except Exception as e:
            row, res = {"case": f"hd{hd} {causal}", "shape": f"{batch}x{seqlen}", "error": repr(e)[:200]}, {}
        print(row, flush=True)
        rows.append(row)
        raw.append({"batch": batch, "seqlen": seqlen, "hd": hd, "causal": causal, "tflops": res})
    cols = ["case", "shape"] + sorted({k for r in rows for k in r} - {"case", "shape"})
    print(markdown_table(rows, cols))
    if args.json:
        write_json(args.json, {"info": info, "rows": rows, "raw": raw})


if __name__ == "__main__":
    main()
