"""Where CUDA-graph mode's decode time goes (session 24): one process, one set of inputs per case and page size, timed
side by side (``bench.common.compare``, read flush by default):

- ``eager``: the eager wrapper (its plan's variant: static item_heads / one-item stages / default);
- ``g_launch``: a ``use_cuda_graph=True`` wrapper's run() launched on the stream (the captured variant, grid = the SM
  count, the CTAs past the plan's own with no items);
- ``g_replay``: the same wrapper's run() captured once and replayed (what ``bench.decode --graph`` times);
- ``g_launch_own`` / ``g_replay_own``: the same with the launch grid cut to the plan's own CTA count (a diagnostic: a
  captured grid cannot follow later plans);
- ``eager_dyn``: the eager plan run by the graph variant (``dyn_heads``) at the eager grid;
- with ``--placement`` (``bench/placement_probe.py``'s JSON of this device): ``g_cal`` / ``g_odd``, the graph wrapper's
  launch (grid = the SM count) with its plan's CTA ranges moved so that the CTAs without items are those the full grid
  puts on the SMs a grid of the plan's own CTA count leaves idle (``cal``), or the odd blockIdx from the top (``odd``);
- with ``--caps N ...`` (session 25): ``eager_capN`` / ``g_replay_capN``, the eager and the graph wrapper planned as if the
  device had N SMs (at most N CTAs; graph mode's captured grid N), the graph one captured and replayed;
- ``g_replay_nolag`` (session 25, where the tree has ``GRAPH_ONE_ITEM_LAG``): the graph wrapper planned without the
  one-item lag mark (all stages in flight), captured and replayed;
- with ``--graph-builds LABEL=FILE ...`` (session 25; bf16 hd128 libraries of ``bench/decode_build_tagged.py`` with
  ``dyn_heads=1``): ``g_replay_LABEL``, a graph-mode wrapper's plan (without the lag mark, which older builds do not
  read) run by that build, captured and replayed.

    python3 -m bench.decode_graph_ab [--cases "16 x 16k" "mixed 256 x 1..8192" ...] [--pages 16 1] [--rounds 4]
        [--flush read] [--caps 128] [--graph-builds dyn3=.ab25/x.so ...] [--head-dim 64] [--lag-head-dims 64 128]
        [--json F]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import time

import torch

import cute_attn
import cute_attn.decode as CD
from cute_attn.artifacts import _load_library, get_kernel
from cute_attn.layouts.decode_work import ITEM_LAG_BIT, Item

from .common import FLUSH_MODES, compare, median
from .decode import CASES, DTYPE, HK, HQ, D, _capture, head_dim_arg, paged_inputs, use_head_dim
from .decode_ab import case_lens


_MISSING = object()


@contextlib.contextmanager
def _swapped(name: str, value):
    """``cute_attn.decode.<name>`` is ``value`` inside (restored after, also when the body raises)."""
    real = getattr(CD, name, _MISSING)
    setattr(CD, name, value)
    try:
        yield
    finally:
        if real is _MISSING:
            delattr(CD, name)
        else:
            setattr(CD, name, real)


def no_lag():
    """Graph-mode plans made inside carry no one-item lag mark (``cute_attn.decode.GRAPH_ONE_ITEM_LAG``, session 25)."""
    return _swapped("GRAPH_ONE_ITEM_LAG", False)


def sm_cap(n: int):
    """Wrappers whose first plan() runs inside see a device of ``n`` SMs (``cute_attn.decode._num_sms``): their plans use
    at most ``n`` CTAs, and CUDA-graph mode captures a grid of ``n``. A diagnostic of the captured grid."""
    return _swapped("_num_sms", lambda device: n)


def _add_graph(fns: dict, label: str, run):
    """``g_launch_<label>`` (``run``, launched once) and ``g_replay_<label>`` (it captured once, replayed), or
    ``g_launch`` / ``g_replay`` for the empty label; the graph."""
    suffix = f"_{label}" if label else ""
    fns["g_launch" + suffix] = run
    run()
    graph = _capture(run)
    fns["g_replay" + suffix] = graph.replay
    return graph


def _spread(plan, empty_slots):
    """Rewrite a graph-mode plan's device cta_ptr so that its CTAs without items sit at ``empty_slots`` (blockIdx), the
    plan's CTAs in order at the other slots (the item order unchanged: the ranges stay a prefix sum)."""
    own = plan.work.cta_ptr
    n, grid = len(own) - 1, plan.grid
    empty = set(list(empty_slots)[: grid - n])
    assert len(empty) == grid - n, (len(empty), grid, n)
    ptr, j = [0], 0
    for b in range(grid):
        if b not in empty:
            j += 1
        ptr.append(int(own[j]))
    plan.cta_ptr[: grid + 1].copy_(torch.tensor(ptr, dtype=torch.int32))
    torch.cuda.synchronize()


def case_fns(kv_lens, page_size, q, placement=None, caps=(), graph_builds=None):
    cache, indptr, indices, last = paged_inputs(kv_lens, page_size)

    def planned(graph: bool):
        w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(use_cuda_graph=graph)
        w.plan(indptr, indices, last, HQ, HK, D, page_size, q_data_type=DTYPE)
        return w

    eager, graph_w, own = planned(False), planned(True), planned(True)
    fns = {"eager": lambda: eager.run(q, cache)}
    fns["eager"]()
    g = _add_graph(fns, "", lambda: graph_w.run(q, cache))
    # before its first run: the first-tile page-id cache's slots follow the grid (plan() zeroed those of the SM count)
    own._plan.grid = own._plan.work.num_ctas
    g_own = _add_graph(fns, "own", lambda: own.run(q, cache))
    info = {"eager_variant": eager._plan.spec.name, "graph_variant": graph_w._plan.spec.name,
            "eager_grid": eager._plan.grid, "graph_grid": graph_w._plan.grid, "own_grid": own._plan.grid,
            "eager_heads": CD.item_heads_of(eager._plan.work, HQ, HK),
            "graph_heads": CD.item_heads_of(graph_w._plan.work, HQ, HK),
            "graph_lag": int(graph_w._plan.work.items[:, Item.HEADS_LOG2].max()) >> ITEM_LAG_BIT
            if len(graph_w._plan.work.items) else 0}
    if eager._plan.spec != graph_w._plan.spec:  # the eager plan on the graph variant
        dyn = planned(False)
        dyn.run(q, cache)
        dyn._plan.kernel = get_kernel(dataclasses.replace(eager._plan.spec, stages=0, item_heads=1, dyn_heads=True))
        dyn._plan.spec = graph_w._plan.spec
        fns["eager_dyn"] = lambda: dyn.run(q, cache)
    capped = []
    for n in caps:
        with sm_cap(n):
            ew, gw = planned(False), planned(True)
        fns[f"eager_cap{n}"] = lambda ew=ew: ew.run(q, cache)
        gc = _add_graph(fns, f"cap{n}", lambda gw=gw: gw.run(q, cache))
        info[f"cap{n}"] = {"eager_grid": ew._plan.grid, "graph_grid": gw._plan.grid, "eager_variant": ew._plan.spec.name,
                           "eager_heads": CD.item_heads_of(ew._plan.work, HQ, HK),
                           "graph_heads": CD.item_heads_of(gw._plan.work, HQ, HK), "graph_ctas": gw._plan.work.num_ctas}
        capped += [ew, gw, gc]
    builds = dict(graph_builds or {})
    if getattr(CD, "GRAPH_ONE_ITEM_LAG", False):
        builds["nolag"] = None  # the tree's own kernel
    for label, lib in builds.items():
        with no_lag():
            gb = planned(True)
        if lib is not None:
            gb._plan.kernel = lib  # (run()'s first check keeps a kernel already bound)
        capped += [gb, _add_graph(fns, label, lambda gb=gb: gb.run(q, cache))]
    spread = []
    if placement is not None:
        full = placement["grids"][str(graph_w._plan.grid)]["sm_of_cta"]
        n = graph_w._plan.work.num_ctas
        slots = {"cal": [], "odd": list(range(graph_w._plan.grid - 1, 0, -2))}
        if n < graph_w._plan.grid and str(n) in placement["grids"]:
            slots["cal"] = [full.index(sm) for sm in placement["grids"][str(n)]["idle_sms"]]
        for label, empty in slots.items():
            if n < graph_w._plan.grid and empty:
                w2 = planned(True)
                _spread(w2._plan, empty)
                info[f"empty_{label}"] = sorted(empty[: graph_w._plan.grid - n])
                fns[f"g_{label}"] = lambda w2=w2: w2.run(q, cache)
                spread.append(w2)
    outs = {k: (f(), torch.cuda.synchronize())[0] for k, f in fns.items() if "replay" not in k}
    ref = outs["eager"].float()
    info["max_diff_vs_eager"] = {k: float((o.float() - ref).abs().max()) for k, o in outs.items()}
    keep = (cache, eager, graph_w, own, g, g_own, fns.get("eager_dyn"), spread, capped)
    return fns, info, keep


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--cases", nargs="+", default=[n for n, _ in CASES])
    p.add_argument("--pages", nargs="+", type=int, default=[16, 1])
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--flush", choices=FLUSH_MODES, default="read")
    p.add_argument("--placement", help="bench/placement_probe.py JSON of this device: adds g_cal / g_odd")
    p.add_argument("--labels", nargs="*", default=None, help="time only these labels (default: all)")
    p.add_argument("--caps", nargs="*", type=int, default=[], help="SM counts to plan under (eager_capN, g_replay_capN)")
    p.add_argument("--graph-builds", nargs="*", default=[], help="LABEL=FILE: a tagged dyn_heads build (g_replay_LABEL)")
    head_dim_arg(p)
    p.add_argument("--lag-head-dims", nargs="*", type=int, default=None,
                   help="the head dims whose graph plans get the one-item lag (cute_attn.decode.GRAPH_ONE_ITEM_LAG_HEAD_DIMS)")
    p.add_argument("--json")
    args = p.parse_args(argv)
    placement = json.load(open(args.placement)) if args.placement else None
    use_head_dim(args.head_dim, __name__)
    if args.lag_head_dims is not None:
        CD.GRAPH_ONE_ITEM_LAG_HEAD_DIMS = tuple(args.lag_head_dims)
    graph_builds = {}
    for kv in args.graph_builds:
        label, path = kv.split("=", 1)
        graph_builds[label] = _load_library(path, os.path.basename(path)[: -len(".so")])
    rows, t0 = [], time.time()
    for name in args.cases:
        lens = case_lens(name)
        for ps in args.pages:
            q = torch.randn(len(lens), HQ, D, dtype=DTYPE, device="cuda")
            fns, info, keep = case_fns(lens, ps, q, placement, args.caps, graph_builds)
            if args.labels:
                fns = {k: f for k, f in fns.items() if k in args.labels or k == "eager"}
            per = compare(fns, rounds=args.rounds, flush=args.flush)
            base = median(per["eager"])
            row = {"case": name, "page": ps, **info, "us": {k: median(v) * 1e3 for k, v in per.items()},
                   "x_eager": {k: round(base / median(v), 4) for k, v in per.items()},
                   "rounds_ms": per}
            rows.append(row)
            print(f"{name:>26} p{ps:<3}" + " | ".join(f"{k} {median(v) * 1e3:.1f} ({base / median(v):.3f})"
                                                      for k, v in per.items()), flush=True)
            print(json.dumps({k: info[k] for k in info}), flush=True)
            del keep
            torch.cuda.empty_cache()
    print(json.dumps({"elapsed_s": time.time() - t0}))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"flush": args.flush, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
