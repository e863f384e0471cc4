"""Prefill TFLOP/s next to torch SDPA (cuDNN and FLASH_ATTENTION backends), same process, same inputs.

    python -m bench.prefill [--json out.json] [--png chart.png] [--quick] [--rounds N] [--rep-ms MS] [--dims 128,256]

Every case times ours and the peers side by side (``bench.common.compare``): a warm-up that brings the board
to its steady power-capped clock, then interleaved rounds in alternating order, one window per kernel per round
(``--timing paired``: the kernels alternate call by call at one shared clock; see ``bench.common.compare``); the
ratio to cuDNN is the median of the per-round ratios.

FLOPs are counted causal-aware: 2 * (visible query-key pairs) * heads * (head_dim + head_dim_v).
Heads = 2048 / head_dim, bf16, NHD for cute_attn and BHSD (a transposed view of the same data) for SDPA.
"""

from __future__ import annotations

import argparse
import importlib

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

import cute_attn

from .common import compare, device_info, markdown_table, median, ratio, timing_arg, use_timing, write_json

P = importlib.import_module("cute_attn.prefill")  # the package's ``prefill`` attribute is the function


def visible_pairs(q_len: int, kv_len: int, causal: bool) -> int:
    if not causal:
        return q_len * kv_len
    off = kv_len - q_len
    return sum(max(0, min(kv_len, i + off + 1)) for i in range(q_len))


def bench_case(batch, seqlen, hd, hdv, causal, dtype=torch.bfloat16):
    return finish(*case_fns(batch, seqlen, hd, hdv, causal, dtype))


def case_fns(batch, seqlen, hd, hdv, causal, dtype=torch.bfloat16):
    """``(row, fns, flops)`` of one dense case: ours and the SDPA peers (None where a backend refuses it) on the
    same data, heads = 2048 / hd."""
    heads = 2048 // hd
    q = torch.randn(batch * seqlen, heads, hd, dtype=dtype, device="cuda")
    k = torch.randn(batch * seqlen, heads, hd, dtype=dtype, device="cuda")
    v = torch.randn(batch * seqlen, heads, hdv, dtype=dtype, device="cuda")
    flops = 2 * batch * visible_pairs(seqlen, seqlen, causal) * heads * (hd + hdv)
    indptr = list(range(0, batch * seqlen + 1, seqlen))
    w = cute_attn.BatchPrefillWithRaggedKVCacheWrapper()
    w.plan(indptr, indptr, heads, heads, hd, hdv, causal=causal, q_data_type=dtype)
    row = {"case": f"hd{hd}{'' if hd == hdv else f'/{hdv}'} {'causal' if causal else 'full'}",
           "shape": f"{batch}x{seqlen}", "heads": heads}
    out = torch.empty(batch * seqlen, heads, hdv, dtype=dtype, device="cuda")
    qb, kb, vb = (t.view(batch, seqlen, heads, -1).transpose(1, 2) for t in (q, k, v))
    fns = {"cute_attn": lambda: w.run(q, k, v, out=out)}
    for name, backend in PEERS:
        fns[name] = peer_fn(backend, lambda: F.scaled_dot_product_attention(qb, kb, vb, is_causal=causal), row, name)
    return row, fns, flops


PEERS = (("cudnn", SDPBackend.CUDNN_ATTENTION), ("fa2", SDPBackend.FLASH_ATTENTION))


def peer_fn(backend, call, row, name):
    """``call`` under the SDPA ``backend``, or None (and an ``n/a`` in ``row``) when the backend refuses it."""
    def fn():
        with sdpa_kernel(backend):
            call()
    try:
        fn()
        return fn
    except Exception as e:  # a backend may not support a head dim
        row[name] = f"n/a ({type(e).__name__}: {str(e)[:60]})"
        return None


def finish(row, fns, flops):
    """Times ``fns`` side by side (:func:`bench.common.compare`: warm, interleaved rounds) into ``row``:
    TFLOP/s from the median round, ``vs_cudnn`` from the median of the per-round ratios."""
    fns = {k: f for k, f in fns.items() if f is not None}
    per = compare(fns, rounds=ROUNDS, rep_ms=REP_MS)
    row["rounds_ms"] = per
    for key in fns:
        row[key] = flops / median(per[key]) / 1e9
    if "cudnn" in fns:
        row["vs_cudnn"] = f"{ratio(per, 'cute_attn', 'cudnn'):.2f}x"
    return row


# Interleaved rounds per case (session 10: was 3). One 80 ms window's ratio to cuDNN moves by up to +-10 % with the
# power-capped clock (session 10 call 1: hd128 causal 16k rounds 1.10-1.28 in one process), so the median of 3 carried
# most of the process-to-process spread of the table; 9 rounds cost ~1.5 s more per case.
ROUNDS = 9
REP_MS = 80  # ms of one kernel's window per round (bench.common.compare)


def plan_host_times(reps: int = 20) -> dict:
    """Median host time of ``BatchPrefillWithRaggedKVCacheWrapper.plan`` (hd128 causal, 16 heads, CPU indptr lists)
    for batches from one 16k request to 64 ragged ones, with the tile count and the schedule the plan chose."""
    import random
    import statistics
    import time

    rng = random.Random(0)
    batches = {"1 x 16k": [16384], "4 x 4k": [4096] * 4, "ragged 12": [8192, 4096, 2048, 1024, 512, 512, 256, 128,
                                                                       3000, 17, 1, 700],
               "ragged 64 (~64k tokens)": [rng.randint(1, 2000) for _ in range(64)]}
    out = {}
    for name, lens in batches.items():
        indptr = [0]
        for n in lens:
            indptr.append(indptr[-1] + n)
        w = cute_attn.BatchPrefillWithRaggedKVCacheWrapper()
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            w.plan(indptr, indptr, 16, 16, 128, causal=True, q_data_type=torch.bfloat16)
            times.append((time.perf_counter() - t0) * 1e6)
        plan = w._plan
        out[name] = {"us": statistics.median(times), "tiles": len(P.split_work(plan.work.cpu(), plan.num_ctas)[1]),
                     "schedule": plan.schedule}
    torch.cuda.synchronize()
    return out


def bench_ragged(causal, hd=128, dtype=torch.bfloat16):
    lens = [8192, 4096, 2048, 1024, 512, 512, 256, 128, 3000, 17, 1, 700]
    heads = 2048 // hd
    total = sum(lens)
    indptr = [0] + torch.tensor(lens).cumsum(0).tolist()
    q = torch.randn(total, heads, hd, dtype=dtype, device="cuda")
    k, v = torch.randn_like(q), torch.randn_like(q)
    flops = sum(2 * visible_pairs(n, n, causal) * heads * 2 * hd for n in lens)
    w = cute_attn.BatchPrefillWithRaggedKVCacheWrapper()
    w.plan(indptr, indptr, heads, heads, hd, causal=causal, q_data_type=dtype)
    row = {"case": f"ragged hd{hd} {'causal' if causal else 'full'}", "shape": f"{len(lens)} reqs, {total} tok",
           "heads": heads}
    per_req = [tuple(t[indptr[b]:indptr[b + 1]].transpose(0, 1).unsqueeze(0).contiguous() for t in (q, k, v))
               for b in range(len(lens))]

    def sdpa_loop():  # the peers have no ragged form: one call per request
        for qb, kb, vb in per_req:
            F.scaled_dot_product_attention(qb, kb, vb, is_causal=causal)

    fns = {"cute_attn": lambda: w.run(q, k, v)}
    for name, backend in PEERS:
        fns[name] = peer_fn(backend, sdpa_loop, row, name)
    return finish(row, fns, flops)


def chart(rows, path, device: str | None = None):
    """A bar chart of the table's TFLOP/s (``device``: the title's device name; default the current GPU's, so a
    saved JSON can be charted on a machine without one)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in rows if isinstance(r.get("cute_attn"), float)]
    labels = [f"{r['case']}\n{r['shape']}" for r in rows]
    fig, ax = plt.subplots(figsize=(max(8, 0.9 * len(rows)), 4.5))
    width = 0.27
    for i, (key, color) in enumerate((("cute_attn", "tab:green"), ("cudnn", "tab:blue"), ("fa2", "tab:gray"))):
        vals = [r[key] if isinstance(r.get(key), float) else 0 for r in rows]
        ax.bar([x + (i - 1) * width for x in range(len(rows))], vals, width, label=key, color=color)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("TFLOP/s")
    ax.legend()
    ax.set_title("prefill, bf16, " + (device or torch.cuda.get_device_name(0)))
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--json")
    timing_arg(p)
    p.add_argument("--png")
    p.add_argument("--quick", action="store_true", help="16k only, hd128")
    p.add_argument("--rounds", type=int, default=ROUNDS, help="interleaved timing rounds per case")
    p.add_argument("--rep-ms", type=float, default=REP_MS, help="ms of one kernel's timing window per round")
    p.add_argument("--dims", help="head dims to run, e.g. 128,256 (default: 64,128,256,192; --quick: 128)")
    args = p.parse_args(argv)
    use_timing(args.timing)
    globals()["ROUNDS"] = args.rounds
    globals()["REP_MS"] = args.rep_ms
    shapes = [(1, 16384)] if args.quick else [(1, 16384), (4, 4096), (16, 1024)]
    dims = [(128, 128)] if args.quick else [(64, 64), (128, 128), (256, 256), (192, 128)]
    if args.dims:
        known = {64: (64, 64), 128: (128, 128), 256: (256, 256), 192: (192, 128)}
        try:
            dims = [known[int(d)] for d in args.dims.split(",")]
        except (KeyError, ValueError):
            p.error(f"--dims: a comma list of {sorted(known)}, got {args.dims!r}")
    rows = []
    for hd, hdv in dims:
        for causal in (True, False):
            for b, s in shapes:
                try:
                    rows.append(bench_case(b, s, hd, hdv, causal))
                except Exception as e:
                    rows.append({"case": f"hd{hd} {'causal' if causal else 'full'}", "shape": f"{b}x{s}",
                                 "cute_attn": f"FAILED {type(e).__name__}: {str(e)[:120]}"})
                print(rows[-1], flush=True)
    if not args.quick:
        for causal in (True, False):
            try:
                rows.append(bench_ragged(causal))
            except Exception as e:
                rows.append({"case": "ragged", "cute_attn": f"FAILED {type(e).__name__}: {str(e)[:120]}"})
            print(rows[-1], flush=True)
    plan_us = plan_host_times()
    info = device_info()
    print(f"\n{info['device']}, {info['date']}, TFLOP/s (bf16)\n")
    print(markdown_table(rows, ["case", "shape", "heads", "cute_attn", "cudnn", "fa2", "vs_cudnn"]))
    print("plan() host time, median us (CPU indptr lists; tiles, schedule chosen): "
          + "; ".join(f"{k}: {v['us']:.0f} ({v['tiles']} tiles, {v['schedule']})" for k, v in plan_us.items()))
    write_json(args.json, {"info": info, "rows": rows, "plan_us": plan_us})
    if args.png:
        chart(rows, args.png)


if __name__ == "__main__":
    main()
