"""The K stage's round trip per key block, from the ``CUTE_ATTN_PREFILL_TRACE=1`` debug build of the prefill
kernels (``kernels/prefill_sm90.py``: SM clock stamps written behind the LSE tensor; ``Tr`` there is the word
layout, mirrored in ``TR_*`` below). Builds nothing: it loads the trace build's artifacts from their own directory,
built on the CPU host (the manifest's source hash is not checked; the env var is not in it, so always ``--force``
into a directory of its own):

    CUTE_ATTN_PREFILL_TRACE=1 python3 -m cute_attn.build -j 2 --force --out build/trace \\
        --only 'prefill_paged_bf16_headdim128_headdimv128_causal_tmaboxrows*' \\
        --only 'prefill_bf16_headdim128_headdimv128_causal_sm90a'
    python3 -m bench.prefill_paged_trace --trace-dir build/trace [--pages 1 16 64] [--no-dense] [--json t.json]
        [--normal-dir DIR]

Each kernel (dense, page 1 / 16 / 64 on shuffled page ids; 4 x 4k hd128 causal bf16, 16 heads) runs from the trace
build after a warm-up (steady power-capped clock), its output checked bitwise against the normal dense build's;
``--reps`` traced launches are kept. Per CTA, record k is the k-th K block of its stream (tiles in order); with 2
stages block k + 2 reuses block k's K stage. The paged kernels' untraced launches (``event_us_normal``) come from
the API's build, or from ``--normal-dir``. Durations (SM cycles; ns at the CTA's own clock rate from
globaltimer over its lifetime), pooled over CTAs, blocks and launches:

    c_kwait          consumer warpgroup: K full-barrier wait (before -> returned), per warpgroup and block
    c_vwait          consumer warpgroup: V full-barrier wait (before -> returned)
    rel_to_pacq      stage release (the later warpgroup's) -> producer's empty wait for block k+2 returned
    p_emptywait      producer thread 0: empty-barrier wait of K (before -> returned)
    p_issue          producer thread 0: first copy -> after its last copy of the K block (its 16 cp.async, or TMAs)
    p_issue_all      thread 0's first copy -> the last of the 4 producer warps' last copies (gathers, box 16)
    p_warp_skew      last - first of the 4 producer warps' "after the last copy" stamps (gathers, box 16)
    p_last_to_cgot   producer thread 0's last K copy -> first consumer warpgroup's K wait returned (where a
                     warpgroup waited > 64 cycles: the barrier completed then, i.e. the data's flight + arrivals)
    p_last_all_to_cgot  the same from the last producer warp's last copy (gathers, box 16)
    roundtrip        stage release (block k) -> first K wait return of block k+2 (release -> data usable)
    budget           stage release (block k) -> first K wait start of block k+2 (what the consumers could hide)
    step             K wait returned, block k -> block k+1 (warpgroup 0): the consumers' key block period
    Per tile start (record k the first K block of a tile, k >= 1; session 7, NOTES-prefill-paged 18):
    c_kwait/first    consumer K wait of a tile's first block (per warpgroup): what the tile start exposes
    p_tile_setup     producer thread 0: the previous tile's last V copy -> this tile's first K empty wait (the
                     next tile's work row, request bounds and, paged, its page ids: the dependent loads)
    p_emptywait/first  the empty wait of a tile's first K block
    p_first_k        producer thread 0: the previous tile's last V copy -> this tile's first K copy

``steady`` rows only count blocks k, k+2 of one tile that are not its first block (no epilogue / Q wait in
between). Output: one JSON row per kernel with [p10, p50, p90, p99, mean] per stat, in cycles and ns.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

# mirror of kernels/prefill_sm90.py Tr (tests/test_prefill_paged_trace.py checks that they agree)
TR_HEADER, TR_REC, TR_BLOCKS = 16, 24, 1024
TR_CTA_WORDS = TR_HEADER + TR_REC * TR_BLOCKS
H_SMID, H_P_GT0, H_P_CLK0, H_C_GT0, H_C_CLK0, H_C_GT1, H_C_CLK1, H_P_COUNT, H_C_COUNT, H_ROUNDS = range(10)
R_TILE, R_NBLK, R_PK_WAIT, R_PK_GOT, R_PK_FIRST, R_PK_LAST, R_PV_GOT, R_PV_LAST = range(8)
R_CK_WAIT, R_CK_GOT, R_CK_REL = 8, 9, 10  # + 3 * warpgroup
R_CV_GOT = 14  # + warpgroup
R_PKW_LAST, R_PKW_GOT, R_CV_WAIT = 16, 19, 22  # + producer warp - 1 (warps 1-3) / + warpgroup
STAGES = 2
WAITED = 64  # cycles: a consumer K wait longer than this found the barrier incomplete

STATS = ("c_kwait", "c_vwait", "rel_to_pacq", "p_emptywait", "p_issue", "p_issue_all", "p_warp_skew",
         "p_last_to_cgot", "p_last_all_to_cgot", "roundtrip", "budget", "step",
         "c_kwait/first", "p_tile_setup", "p_emptywait/first", "p_first_k")


def _u32(x):
    return np.asarray(x, dtype=np.int64) & 0xFFFFFFFF


def cta_stats(words: np.ndarray) -> dict:
    """Durations (cycles) of one CTA's area (``TR_CTA_WORDS`` int32 words): {stat: array}, plus the steady subset
    under ``<stat>/steady``, and ``ns_per_cycle``."""
    w = np.asarray(words, dtype=np.int64)
    h = w[:TR_HEADER]
    clk0 = h[H_P_CLK0]
    n = int(min(h[H_P_COUNT], h[H_C_COUNT], TR_BLOCKS))
    rec = w[TR_HEADER:TR_HEADER + TR_REC * TR_BLOCKS].reshape(TR_BLOCKS, TR_REC)[:n]
    # cycles since the producer's start (minus a margin: a stamp a little before it stays positive); the tag words
    # are transformed too but read from ``rec``
    t = _u32(rec - (clk0 - (1 << 20)))
    tile = rec[:, R_TILE]
    k_wait = t[:, [R_CK_WAIT, R_CK_WAIT + 3]]
    k_got = t[:, [R_CK_GOT, R_CK_GOT + 3]]
    k_rel = t[:, [R_CK_REL, R_CK_REL + 3]]
    v_got = t[:, [R_CV_GOT, R_CV_GOT + 1]]
    v_wait = t[:, [R_CV_WAIT, R_CV_WAIT + 1]]
    release = k_rel.max(1)
    out = {"c_kwait": (k_got - k_wait).ravel(), "c_vwait": (v_got - v_wait).ravel(),
           "p_emptywait": t[:, R_PK_GOT] - t[:, R_PK_WAIT], "p_issue": t[:, R_PK_LAST] - t[:, R_PK_FIRST]}
    first_of_tile = np.ones(n, bool)
    first_of_tile[1:] = tile[1:] != tile[:-1]
    same = ~first_of_tile[1:]
    out["step"] = (k_got[1:, 0] - k_got[:-1, 0])[same]
    land = k_got.min(1)
    waited = (k_got - k_wait).max(1) > WAITED
    out["p_last_to_cgot"] = (land - t[:, R_PK_LAST])[waited]
    # producer warps 1-3 (gathers, box 16): their words are 0 where they do not take part (dense, box 64)
    multi = (rec[:, R_PKW_LAST:R_PKW_LAST + 3] != 0).all(1)
    lasts = np.concatenate([t[:, [R_PK_LAST]], t[:, R_PKW_LAST:R_PKW_LAST + 3]], 1)
    out["p_issue_all"] = (lasts.max(1) - t[:, R_PK_FIRST])[multi]
    out["p_warp_skew"] = (lasts.max(1) - lasts.min(1))[multi]
    out["p_last_all_to_cgot"] = (land - lasts.max(1))[multi & waited]
    first = np.flatnonzero(first_of_tile)
    first = first[first >= 1]
    out["c_kwait/first"] = (k_got - k_wait)[first].ravel()
    out["p_tile_setup"] = t[first, R_PK_WAIT] - t[first - 1, R_PV_LAST]
    out["p_emptywait/first"] = t[first, R_PK_GOT] - t[first, R_PK_WAIT]
    out["p_first_k"] = t[first, R_PK_FIRST] - t[first - 1, R_PV_LAST]
    a = np.arange(max(n - STAGES, 0))
    b = a + STAGES
    out["rel_to_pacq"] = t[b, R_PK_GOT] - release[a]
    out["roundtrip"] = land[b] - release[a]
    out["budget"] = k_wait[b].min(1) - release[a]
    steady = (tile[a] == tile[b]) & ~first_of_tile[a] & ~first_of_tile[b] if len(a) else np.zeros(0, bool)
    for s in ("rel_to_pacq", "roundtrip", "budget"):
        out[s + "/steady"] = out[s][steady]
    gt = _u32(h[H_C_GT1] - h[H_P_GT0])
    cyc = _u32(h[H_C_CLK1] - clk0)
    out["ns_per_cycle"] = float(gt) / float(cyc) if cyc else float("nan")
    out["blocks"] = n
    out["first_blocks"] = int(first_of_tile.sum())
    return out


def summarize(areas: list[np.ndarray]) -> dict:
    """Pooled percentiles over the CTAs of all launches: {stat: {"cyc": [p10, p50, p90, p99, mean], "ns": ...}}."""
    pooled: dict[str, list] = {}
    rates, blocks, spans, smids = [], 0, [], set()
    for area in areas:  # one launch: (ctas, TR_CTA_WORDS)
        g0 = _u32(area[:, H_P_GT0])
        g1 = _u32(area[:, H_C_GT1])
        spans.append(float(_u32(g1 - g0.min()).max()))
        for cta in area:
            s = cta_stats(cta)
            rates.append(s.pop("ns_per_cycle"))
            blocks += s.pop("blocks")
            s.pop("first_blocks")
            smids.add(int(cta[H_SMID]))
            for k, v in s.items():
                pooled.setdefault(k, []).append(np.asarray(v, dtype=np.float64))
    rate = float(np.median(rates))
    res = {"ns_per_cycle": rate, "mhz": 1e3 / rate, "span_us": float(np.median(spans)) / 1e3,
           "blocks_per_launch": blocks / max(len(areas), 1), "sms": len(smids)}
    for k, vs in pooled.items():
        x = np.concatenate(vs) if vs else np.zeros(0)
        if not len(x):
            continue
        q = [float(np.percentile(x, p)) for p in (10, 50, 90, 99)] + [float(x.mean())]
        res[k] = {"n": int(len(x)), "cyc": [round(v, 1) for v in q], "ns": [round(v * rate, 1) for v in q]}
        if k == "c_kwait":
            res["c_kwait_waited_frac"] = float((x > WAITED).mean())
    return res


class _TraceBuild:
    """The trace build's kernels (artifact directory), loaded on first use."""

    def __init__(self, directory: str):
        self.directory, self.fns = directory, {}

    def __call__(self, spec):
        from cute_attn.artifacts import Manifest, _load_library

        fn = self.fns.get(spec.name)
        if fn is None:
            m = Manifest.read(self.directory, spec.arch)
            if spec.name not in m.entries:
                raise FileNotFoundError(f"{spec.name} not in {self.directory}")
            fn = self.fns[spec.name] = _load_library(m.path(spec), spec.name)
        return fn


def _lse_with_trace(heads: int, total_q: int, ctas: int, device):
    """The LSE ``(heads, total_q)`` the kernel gets, and the ``(ctas, TR_CTA_WORDS)`` int32 words right behind it."""
    buf = torch.zeros(heads * total_q + ctas * TR_CTA_WORDS, dtype=torch.float32, device=device)
    lse = buf[: heads * total_q].view(heads, total_q)
    trace = buf[heads * total_q:].view(torch.int32).view(ctas, TR_CTA_WORDS)
    return lse, trace


def traced_paged(build, w, q, cache, out):
    """A launch of the trace build's paged kernel with the arguments ``run_paged`` passes, and its trace area."""
    from cute_attn.decode import _kernel_view
    from cute_attn.page import unpack_paged_kv_cache

    plan = w._plan
    k_cache, v_cache = unpack_paged_kv_cache(cache, "NHD")
    lse, trace = _lse_with_trace(plan.num_qo_heads, plan.total_q, plan.num_ctas, q.device)
    fn = build(plan.spec)
    args = (_kernel_view(q), _kernel_view(k_cache), _kernel_view(v_cache), _kernel_view(out), lse, plan.qo_indptr,
            plan.cu_seqlens_k, plan.kv_indptr, plan.kv_indices, plan.work, plan.part, plan.count, plan.num_ctas,
            plan.sm_scale)
    return lambda: fn(*args), trace


def traced_dense(build, w, q, k, v, out):
    plan = w._plan
    lse, trace = _lse_with_trace(plan.num_qo_heads, plan.total_q, plan.num_ctas, q.device)
    fn = build(plan.spec)
    args = (q, k, v, out, lse, plan.qo_indptr, plan.kv_indptr, plan.work, plan.part, plan.count, plan.num_ctas,
            plan.sm_scale)
    return lambda: fn(*args), trace


def run_kernel(name, launch, trace, normal, out, ref, reps: int, warm_s: float):
    """Warm-up (traced and normal launches alternating), ``reps`` traced launches (trace zeroed before each), the
    output check, and the event time of traced vs normal launches."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < warm_s:
        launch()
        normal()
        torch.cuda.synchronize()
    areas, ev_t, ev_n = [], [], []
    for _ in range(reps):
        for fn, acc in ((normal, ev_n), (launch, ev_t)):
            if fn is launch:
                trace.zero_()
                out.zero_()
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            fn()
            b.record()
            torch.cuda.synchronize()
            acc.append(a.elapsed_time(b) * 1e3)
        if not torch.equal(out, ref):
            raise AssertionError(f"{name}: the trace build's output differs from the normal dense kernel's")
        areas.append(trace.cpu().numpy().copy())
    res = summarize(areas)
    res["event_us_trace"] = float(np.median(ev_t))
    res["event_us_normal"] = float(np.median(ev_n))
    return res, areas


def main(argv=None):
    import cute_attn

    from .prefill_paged import dense_case, paged_copy

    p = argparse.ArgumentParser()
    p.add_argument("--trace-dir", required=True, help="artifact directory of the CUTE_ATTN_PREFILL_TRACE=1 build")
    p.add_argument("--pages", nargs="+", type=int, default=[1, 16, 64])
    p.add_argument("--no-dense", action="store_true")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--seqlen", type=int, default=4096)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--warm-s", type=float, default=2.0)
    p.add_argument("--json")
    p.add_argument("--raw", help="npz of every kernel's raw trace areas (launches, ctas, words up to the last record)")
    p.add_argument("--raw-launches", type=int, default=1, help="launches per kernel kept in --raw")
    p.add_argument("--normal-dir", help="artifact directory of the paged kernels' untraced launches (default: the "
                   "API's)")
    args = p.parse_args(argv)
    build = _TraceBuild(args.trace_dir)
    normal_build = _TraceBuild(args.normal_dir) if args.normal_dir else None
    heads, d = 16, 128
    lens = [args.seqlen] * args.batch
    gen = torch.Generator().manual_seed(0)
    qo, q, k, v, out, ref, fns, _ = dense_case(lens, lens, heads, d, True, torch.bfloat16)
    kernels = []
    if not args.no_dense:
        wd = cute_attn.BatchPrefillWithRaggedKVCacheWrapper()
        wd.plan(qo, qo, heads, heads, d, causal=True, q_data_type=torch.bfloat16)
        kernels.append(("dense", *traced_dense(build, wd, q, k, v, out), fns["dense"]))
    for ps in args.pages:
        cache, indptr, ids, last = paged_copy(k, v, lens, ps, gen, True)
        w = cute_attn.BatchPrefillWithPagedKVCacheWrapper()
        w.plan(qo, indptr, ids, last, heads, heads, d, ps, causal=True, q_data_type=torch.bfloat16)
        launch, trace = traced_paged(build, w, q, cache, out)
        if normal_build is None:
            normal = lambda w=w, cache=cache: w.run(q, cache, out=out)  # noqa: E731
        else:
            normal = traced_paged(normal_build, w, q, cache, out)[0]  # an LSE with unused spare words
        kernels.append((f"page{ps}", launch, trace, normal))
    rows, raw = [], {}
    for name, launch, trace, normal in kernels:
        res, areas = run_kernel(name, launch, trace, normal, out, ref, args.reps, args.warm_s)
        row = {"kernel": name, "case": f"{args.batch} x {args.seqlen}", **res}
        rows.append(row)
        used = TR_HEADER + TR_REC * int(max(a[:, H_P_COUNT].max() for a in areas))
        raw[name] = np.stack(areas[: args.raw_launches])[:, :, :min(used, TR_CTA_WORDS)]
        print(json.dumps(row), flush=True)
    print_table(rows)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    if args.raw:
        np.savez_compressed(args.raw, **raw)


def print_table(rows):
    stats = [s for s in STATS] + [s + "/steady" for s in ("rel_to_pacq", "roundtrip", "budget")]
    print("\nmedian [p10 / p90 / p99] in cycles (ns at the measured clock)")
    print("| stat | " + " | ".join(r["kernel"] for r in rows) + " |")
    print("| --- |" + " --- |" * len(rows))
    for s in stats:
        cells = []
        for r in rows:
            x = r.get(s)
            if x is None:
                cells.append("-")
                continue
            c, ns = x["cyc"], x["ns"]
            cells.append(f"{c[1]:.0f} ({ns[1]:.0f} ns) [{c[0]:.0f} / {c[2]:.0f} / {c[3]:.0f}]")
        print(f"| {s} | " + " | ".join(cells) + " |")
    for key in ("c_kwait_waited_frac", "mhz", "span_us", "event_us_trace", "event_us_normal", "blocks_per_launch",
                "sms"):
        print(f"| {key} | " + " | ".join(f"{r.get(key, float('nan')):.3g}" for r in rows) + " |")


if __name__ == "__main__":
    main()
