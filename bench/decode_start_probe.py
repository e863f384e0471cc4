"""What a cold start costs 1 x 32k decode: the plan's buffers and the kernel's code warmed after the L2 flush.

Session 13 call 9 read the plan's buffers with an L2 evict_last policy and 1 x 32k did not move, leaving two readings
open: those lines do not outlive the flush, or the start-up chain (CTA start -> producer's first copy, ~1.4 us, session
26 call 4) is not waiting on DRAM for them. This probe measures the upper bound directly, with the kernel unchanged.
Every timed call is preceded by the read flush (``bench.common``'s 256 MB sum, as every decode table) and then, outside
the CUDA events, by one of:

- ``base``: nothing (the tables' protocol);
- ``plan``: torch reads of the buffers the kernel reads at its start (the schedule buffer: cta_ptr, item rows, page
  ids; the counters buffer with the first-tile page-id cache), so they sit in L2;
- ``code``: one run of a second wrapper on a 1 x 4k request that plans the same kernel variant (its code, the
  SMs' instruction caches and constant banks warm; its own 4 MB of KV in L2, none of the timed call's lines);
- ``both``: ``code`` then ``plan``.

The labels alternate call by call (order reversed every other call), ``calls`` per round; the medians per round and
their differences to ``base`` are printed (us and %). The outputs of every label are compared bit for bit with
``base``'s (the same kernel and plan: they must be identical). A diagnostic, not a lever: no label is a shippable mode.

    python -m bench.decode_start_probe --pages 16 1 --rounds 8 --json out.json
"""

from __future__ import annotations

import argparse
import json

import torch

import cute_attn

from .common import _evictor, device_info, median
from .decode import D, DTYPE, HK, HQ, paged_inputs

LABELS = ("base", "plan", "code", "both")


def _touch(tensors, sink):
    """Reads every (int32) tensor once (one torch reduction each into ``sink``): its lines are then in L2."""
    for t in tensors:
        torch.sum(t.reshape(-1), 0, out=sink)


def probe(page_size: int, n_tokens: int, rounds: int, calls: int) -> dict:
    cache, indptr, indices, last = paged_inputs([n_tokens], page_size)
    q = torch.randn(1, HQ, D, dtype=DTYPE, device="cuda")
    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper()
    w.plan(indptr, indices, last, HQ, HK, D, page_size, q_data_type=DTYPE)
    p = w._plan
    # the warm-code wrapper: 1 x 4k on its own cache, the same kernel variant
    for n_t in (4096, 8192, 16384):
        cache_t, indptr_t, indices_t, last_t = paged_inputs([n_t], 16)
        wt = cute_attn.BatchDecodeWithPagedKVCacheWrapper()
        wt.plan(indptr_t, indices_t, last_t, HQ, HK, D, 16, q_data_type=DTYPE)
        if wt._plan.spec.name == p.spec.name:
            break
    else:
        raise RuntimeError(f"no warm-code plan took {p.spec.name}")
    qt = torch.randn(1, HQ, D, dtype=DTYPE, device="cuda")
    sink = torch.empty((), dtype=torch.int64, device="cuda")
    # the schedule buffer holds cta_ptr, the item rows and (a sorted or host-given table) the page ids; the counters hold
    # the first-tile id cache; the page ids apart only when the plan reads the caller's device tensor
    plan_bufs = [w._sched.dev, p.counters]
    if p.kv_indices.untyped_storage().data_ptr() != w._sched.dev.untyped_storage().data_ptr():
        plan_bufs.append(p.kv_indices)
    evict = _evictor("read")
    pre = {
        "base": lambda: None,
        "plan": lambda: _touch(plan_bufs, sink),
        "code": lambda: wt.run(qt, cache_t),
        "both": lambda: (wt.run(qt, cache_t), _touch(plan_bufs, sink)),
    }
    outs = {}
    for name in LABELS:  # warm-up, and each label's output for the bitwise check
        for _ in range(3):
            evict()
            pre[name]()
            o = w.run(q, cache)
        torch.cuda.synchronize()
        outs[name] = o.clone()
    same = {name: bool(torch.equal(outs[name], outs["base"])) for name in LABELS}
    per = {name: [] for name in LABELS}
    for r in range(rounds):
        ev = {name: [] for name in LABELS}
        for i in range(calls):
            for name in (LABELS if (r + i) % 2 == 0 else LABELS[::-1]):
                a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                evict()
                pre[name]()
                a.record()
                w.run(q, cache)
                b.record()
                ev[name].append((a, b))
        torch.cuda.synchronize()
        for name in LABELS:
            per[name].append(median([a.elapsed_time(b) for a, b in ev[name]]) * 1e3)
    base = median(per["base"])
    kv_bytes = n_tokens * HK * D * 2 * 2
    res = {"page_size": page_size, "tokens": n_tokens, "variant": p.spec.name, "splits": p.work.num_splits,
           "grid": p.grid, "warm_code_tokens": n_t, "same_output": same, "rounds_us": per}
    for name in LABELS:
        med = median(per[name])
        diffs = [b - x for b, x in zip(per["base"], per[name])]
        res[name] = {"us": med, "GBs": kv_bytes / med / 1e3, "gain_us": base - med,
                     "gain_pct": 100 * (base / med - 1), "round_gain_us_min": min(diffs),
                     "round_gain_us_max": max(diffs)}
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, nargs="+", default=[16, 1])
    ap.add_argument("--tokens", type=int, default=32768)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--calls", type=int, default=40)
    ap.add_argument("--json")
    args = ap.parse_args()
    info = device_info()
    rows = [probe(ps, args.tokens, args.rounds, args.calls) for ps in args.pages]
    print(f"# decode start probe: 1 x {args.tokens} tokens, {HQ} q / {HK} kv heads, hd{D}, read flush, "
          f"{args.rounds} rounds x {args.calls} calls per label; {info.get('device', '')}")
    print("| page | label | us (median of rounds) | GB/s | gain vs base, us | round gains, us | output = base |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        for name in LABELS:
            x = r[name]
            print(f"| {r['page_size']} | {name} | {x['us']:.2f} | {x['GBs']:.0f} | {x['gain_us']:+.2f} "
                  f"({x['gain_pct']:+.2f} %) | {x['round_gain_us_min']:+.2f}..{x['round_gain_us_max']:+.2f} | "
                  f"{r['same_output'][name]} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"info": info, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
