"""Decode A/B of several kernel builds in ONE process (decode-v12): every build's bf16 hd128 decode artifact is
loaded side by side and swapped into the same plan (``w._plan.kernel``), so all builds time the same inputs,
the same plan and the same L2/flush buffers; rounds alternate the build order (A B C .., .. C B A, ...).
The kernels must share main's launch ABI (``CUTE_ATTN_DECODE_PTR_ARGS=1`` builds do not).

    python3 bench/decode_multi_build.py --builds main=<dir> own=<dir> ... --rounds 6 --flush zero read \\
        --json out.json

<dir> holds ``decode_bf16_headdim128_sm90a__<label>.so`` (``bench/decode_build_tagged.py``). Each build's output
is checked against the first build's (max |diff| of O and LSE per case, page; a plan label against the first label
on the same plan, plus its O diff vs the first build as the 4th number, the largest difference of its 2nd-5th runs from
its first as the 5th (bit-identical reruns: 0) and the sum of its split counters after them as the 6th: 0). cuDNN
SDPA is timed once per case and flush per round pair.

``--plans label=<build>:MIXED=<H>`` (session 24) is HEADS with the mixed pass (``cute_attn.decode.MIXED_ITEM_HEADS``)
for a build of the ``dyn_heads`` variant. ``--plans label=<build>:HEADS=<H>`` (session 23) does the same with items of
up to H kv heads (``cute_attn.decode.MAX_ITEM_HEADS``) for a build of that ``item_heads`` variant (``decode_build_tagged.py TAG DIR
stages=3,item_heads=H``); every other plan here is made without items of several heads (MAX_ITEM_HEADS = 1), the
schedule the default-variant builds run. (Session 23 call 2 ran the first form of this: an env build switch and a knob
that forced H.)
``--plans label=<build>:MAX_PARTS=<n>`` (decode-fix) adds a timed label that runs build ``<build>``'s kernel on a
second plan of the same inputs made with the planner knob ``cute_attn.decode.MAX_PARTS = n`` (numpy and compiled
planner alike, ``set_max_parts``; reset to 0 after): its output differs from the first build's only by the merge's
rounding (other parts), so its check line shows a small nonzero diff.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import time

import torch

import cute_attn
from cute_attn.artifacts import _load_library
from bench.common import time_ms_flush
from bench.decode import DTYPE, HK, HQ, PAGE_ORDER, D, head_dim_arg, pages_mode, sdpa_decode, use_head_dim
from bench.decode_ab import case_inputs, case_lens
from cute_attn.layouts.decode_work import Item

NAME = "decode_bf16_headdim128_sm90a"


_PLAN_DEFAULTS: list = []  # [ITEM_HEADS_HEAD_DIMS, _PLANNER] as the package set them


def _set_knob(CD, value) -> None:
    """A plan label's planner knob: ``MAX_PARTS=n`` (an int) or ``HEADS=n`` (``("HEADS", n)``: items of up to n kv
    heads, ``cute_attn.decode.MAX_ITEM_HEADS``, for a build of the ``item_heads`` variant, session 23; made by the
    numpy planner for every head dim, also those without shipped ``item_heads`` variants); 0 resets both (this harness
    plans without items of several heads otherwise: its builds are the default variant)."""
    if not _PLAN_DEFAULTS:
        _PLAN_DEFAULTS.extend([CD.ITEM_HEADS_HEAD_DIMS, CD._PLANNER[:]])
    if isinstance(value, tuple):  # ("HEADS", n), or ("MIXED", n): the same with the mixed pass (session 24)
        CD.MAX_ITEM_HEADS = value[1]
        CD.MIXED_ITEM_HEADS = value[0] == "MIXED"
        CD.ITEM_HEADS_HEAD_DIMS = CD.DECODE_HEAD_DIMS
        CD._PLANNER[:] = [None]
    else:
        CD.MAX_ITEM_HEADS = 1
        CD.MIXED_ITEM_HEADS = False
        CD.ITEM_HEADS_HEAD_DIMS = _PLAN_DEFAULTS[0]
        CD._PLANNER[:] = _PLAN_DEFAULTS[1]
        CD.set_max_parts(value)


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--builds", nargs="+", required=True, help="label=<artifact dir>")
    p.add_argument("--plan-builds", nargs="*", default=[],
                   help="label=<artifact dir>: builds loaded only for --plans (not timed on the default plan)")
    p.add_argument("--plans", nargs="*", default=[], help="label=<build label>:MAX_PARTS=<n>, :HEADS=<H> or :MIXED=<H>")
    p.add_argument("--cases", nargs="+", default=["1 x 32k", "8 x 32k", "skewed 1 x 32k + 63 x 512", "64 x 4k",
                                                   "128 x 1k"])
    p.add_argument("--pages", nargs="+", type=int, default=[16, 1])
    p.add_argument("--flush", nargs="+", default=["zero", "read"])
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--rep-ms", type=float, default=100)
    p.add_argument("--budget-s", type=float, default=1e9, help="start no round after this many seconds")
    p.add_argument("--page-order", type=pages_mode, default=None,
                   help="page ids of the tables (bench.decode --pages: shuffled (default), sorted, local:<size>, ...)")
    p.add_argument("--json")
    head_dim_arg(p, "bf16 decode builds of this head dim (tagged by decode_build_tagged.py with head_dim=<d> among its "
                    "spec fields)")
    p.add_argument("--dry-run", action="store_true",
                   help="CPU: load the builds, plan every case/page/plan label on the host, print CTAs and splits, exit")
    args = p.parse_args(argv)
    use_head_dim(args.head_dim, __name__)
    if args.page_order is not None:
        PAGE_ORDER[0] = args.page_order
    t0 = time.time()
    labels, kernels = [], {}
    for kv in args.builds + args.plan_builds:
        label, d = kv.split("=", 1)
        if kv in args.builds:
            labels.append(label)
        # <variant name>__<label>.so: the default variant's name, or another spec's (decode_build_tagged.py fields)
        path = os.path.join(d, f"{NAME}__{label}.so")
        if not os.path.exists(path):
            found = glob.glob(os.path.join(d, f"decode_*__{label}.so"))
            assert len(found) == 1, f"{d}: no single decode_*__{label}.so ({found})"
            path = found[0]
        kernels[label] = _load_library(path, os.path.basename(path)[: -len(".so")])
    plan_knobs = {}  # label -> (kernel label, MAX_PARTS)
    for kv in args.plans:
        label, rest = kv.split("=", 1)
        build, knob = rest.split(":", 1)
        key, val = knob.split("=", 1)
        assert key in ("MAX_PARTS", "HEADS", "MIXED") and build in kernels, kv
        plan_knobs[label] = (build, int(val) if key == "MAX_PARTS" else (key, int(val)))
    import cute_attn.decode as CD
    _set_knob(CD, 0)
    if args.dry_run:
        for name in args.cases:
            kv_lens = case_lens(name)
            for page_size in args.pages:
                pages = [(n + page_size - 1) // page_size for n in kv_lens]
                indptr = torch.tensor([0] + torch.tensor(pages).cumsum(0).tolist(), dtype=torch.int32)
                indices = torch.arange(sum(pages), dtype=torch.int32)
                last = torch.tensor([(n - 1) % page_size + 1 for n in kv_lens], dtype=torch.int32)
                line = {"dry_run": name, "page": page_size}
                for label, max_parts in [(lb, 0) for lb in labels[:1]] + [(lb, v[1]) for lb, v in plan_knobs.items()]:
                    _set_knob(CD, max_parts)
                    try:
                        w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(device="cpu")
                        w.plan(indptr, indices, last, HQ, HK, D, page_size)
                    finally:
                        _set_knob(CD, 0)
                    parts = w._plan.items.numpy()[: int(w._plan.cta_ptr[w._plan.grid])][:, Item.NUM_PARTS]
                    line[label] = {"ctas": w._plan.grid, "max_parts": int(parts.max()) if len(parts) else 0,
                                   "split_items": int((parts > 0).sum())}
                print(json.dumps(line), flush=True)
        print(json.dumps({"dry_run_loaded": labels, "planner": "compiled" if CD.compiled_planner() else "numpy"}))
        return
    setups = []
    for name in args.cases:
        kv_lens = case_lens(name)
        kv_bytes = sum(kv_lens) * HK * D * 2 * 2
        for page_size in args.pages:
            cache, indptr, indices, last, q = case_inputs(kv_lens, page_size)
            w = cute_attn.BatchDecodeWithPagedKVCacheWrapper()
            w.plan(indptr, indices, last, HQ, HK, D, page_size)
            w.run(q, cache)  # checks, binds plan.kernel
            wrappers = {label: (w, label) for label in labels}
            for label, (build, max_parts) in plan_knobs.items():
                _set_knob(CD, max_parts)
                try:
                    w2 = cute_attn.BatchDecodeWithPagedKVCacheWrapper()
                    w2.plan(indptr, indices, last, HQ, HK, D, page_size)
                finally:
                    _set_knob(CD, 0)
                w2.run(q, cache)
                if isinstance(max_parts, tuple):
                    # that run (the registry's kernel: main's where no item_heads variant is shipped) may have cached
                    # its first-tile page ids (FIRST_IDS) in another row mapping: the HEADS build's first run loads its
                    # own (the tail plan() zeroes)
                    w2._counters[w2._counters.shape[0] - w2._plan.grid * CD.FIRST_IDS_CAP:].zero_()
                wrappers[label] = (w2, build)
                print(json.dumps({"plan": label, "case": name, "page": page_size, "ctas": w2._plan.grid,
                                  "base_ctas": w._plan.grid}), flush=True)
            refs = {}  # plan (0: the default plan, else MAX_PARTS) -> output of its first label
            checks = {}
            for label in labels + list(plan_knobs):
                wl, build = wrappers[label]
                wl._plan.kernel = kernels[build]
                first = None
                rerun = 0.0  # the largest difference of a rerun from the label's first run (bit-identical expected)
                for _ in range(5):  # the counters must come back to zero between launches
                    o, lse = wl.run(q, cache, return_lse=True)
                    if first is None:
                        first = (o.clone(), lse.clone())
                    else:
                        rerun = max(rerun, float((o.float() - first[0].float()).abs().max()),
                                    float((lse - first[1]).abs().max()))
                torch.cuda.synchronize()
                key = plan_knobs[label][1] if label in plan_knobs else 0
                if key not in refs:
                    refs[key] = (o.float().clone(), lse.clone())
                ref = refs[key]  # same plan: bit-identical expected; first label of another plan: rounding only
                checks[label] = (float((o.float() - ref[0]).abs().max()), float((lse - ref[1]).abs().max()),
                                 bool(torch.isfinite(o.float()).all()),
                                 float((o.float() - refs[0][0]).abs().max()), rerun,
                                 int(wl._counters[: wl._plan.work.num_splits].abs().sum()))
            print(json.dumps({"check": name, "page": page_size, **{k: v for k, v in checks.items()}}), flush=True)
            setups.append((name, page_size, kv_bytes, wrappers, q, cache, len(kv_lens), max(kv_lens)))
    rows = []
    timed = labels + list(plan_knobs)
    for r in range(args.rounds):
        if time.time() - t0 > args.budget_s:
            print(json.dumps({"stopped_before_round": r + 1, "elapsed_s": time.time() - t0}), flush=True)
            break
        order = timed if r % 2 == 0 else timed[::-1]
        for name, page_size, kv_bytes, wrappers, q, cache, b, n in setups:
            for fl in args.flush:
                for label in order:
                    wl, build = wrappers[label]
                    wl._plan.kernel = kernels[build]
                    ms = time_ms_flush(lambda: wl.run(q, cache), fl, warmup_ms=10, rep_ms=args.rep_ms)
                    rows.append({"round": r + 1, "label": label, "flush": fl, "case": name, "page": page_size,
                                 "us": ms * 1e3, "GBs": kv_bytes / ms / 1e6})
                    print(json.dumps(rows[-1]), flush=True)
    # cuDNN, per case and flush, twice (after the rounds: its dense KV would crowd the paged caches)
    time_cudnn([(name, kv_bytes, b, n) for name, page_size, kv_bytes, wrappers, q, cache, b, n in setups
                if page_size == args.pages[0]], args.flush, args.rep_ms, rows)
    summary = summarize(rows, timed + ["cudnn"])
    print(json.dumps({"elapsed_s": time.time() - t0}), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "summary": summary}, f, indent=1)


def time_cudnn(cases, flushes, rep_ms: float, rows: list) -> None:
    """cuDNN SDPA dense decode for each ``(case name, KV bytes, batch, kv length)``, twice per flush mode; rows
    appended (label ``cudnn``, page 0) and printed."""
    from torch.nn.attention import SDPBackend

    for name, kv_bytes, b, n in cases:
        q4 = torch.randn(b, HQ, 1, D, dtype=DTYPE, device="cuda")
        kd = torch.randn(b, HK, n, D, dtype=DTYPE, device="cuda")
        vd = torch.randn_like(kd)
        for rep in range(2):
            for fl in flushes:
                ms = time_ms_flush(lambda: sdpa_decode(q4, kd, vd, SDPBackend.CUDNN_ATTENTION), fl,
                                   warmup_ms=10, rep_ms=rep_ms)
                rows.append({"round": rep + 1, "label": "cudnn", "flush": fl, "case": name, "page": 0,
                             "us": ms * 1e3, "GBs": kv_bytes / ms / 1e6})
                print(json.dumps(rows[-1]), flush=True)
        torch.cuda.empty_cache()  # (kd / vd are rebound by the next case; no del of names the lambda closes over)


def summarize(rows: list, labels: list) -> list:
    """Mean GB/s per (case, page, flush, label) and its change against the first label, one printed line per
    (case, page, flush); returns the summary rows."""
    import collections

    t = collections.defaultdict(list)
    for x in rows:
        t[(x["case"], x["page"], x["flush"], x["label"])].append(x["GBs"])
    summary = []
    for case, page, fl in sorted({k[:3] for k in t}):
        base = t.get((case, page, fl, labels[0]))
        line = f"{case[:12]:12s} {page:3d} {fl:4s}"
        for label in labels:
            v = t.get((case, page, fl, label))
            if not v:
                continue
            m = sum(v) / len(v)
            ch = (m / (sum(base) / len(base)) - 1) * 100 if base else 0.0
            line += f" | {label} {m:.0f} ({ch:+.1f}%) [{min(v):.0f}-{max(v):.0f}]"
            summary.append({"case": case, "page": page, "flush": fl, "label": label, "mean": m, "change_pct": ch,
                            "n": len(v), "min": min(v), "max": max(v)})
        print(line, flush=True)
    return summary


if __name__ == "__main__":
    main()
