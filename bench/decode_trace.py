"""Where the time of one decode launch goes, per CTA, from the ``CUTE_ATTN_DECODE_TRACE=1`` debug build
(``kernels/decode_sm90.py``: globaltimer / clock stamps written into spare rows of tmp_o). Needs that build:

    CUTE_ATTN_DECODE_TRACE=1 python3 -m cute_attn.build --only 'decode_bf16_headdim128*'
    python3 bench/decode_trace.py --cases "1 x 32k" --flush read zero --json out.json

Per launch: the event time (start event -> end event around run()), the in-kernel span (first CTA start ->
last CTA end, globaltimer), and per CTA: start offset, first KV tile landed, last tile's GEMMs done, end,
merges (ns from the first CTA's start; clock cycles for the in-CTA durations). Summaries are medians over
the launches of min / median / max over CTAs.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

import cute_attn
import cute_attn.decode as dec
# the kernel's TRACE columns: 0-16 (col 16, the merge's parts loop end: session 19), then per item (session 22; the
# producer's columns only at head_dim >= 128, where tmp_o rows have them)
from cute_attn.layouts.decode_work import TRACE_COLS as COLS
from cute_attn.layouts.decode_work import TRACE_EPI as EPI
from cute_attn.layouts.decode_work import TRACE_FIRST as FIRST
from cute_attn.layouts.decode_work import TRACE_ISSUE as ISSUE
from cute_attn.layouts.decode_work import TRACE_ITEMS as ITEMS
from cute_attn.layouts.decode_work import TRACE_KV as KV
from cute_attn.layouts.decode_work import TRACE_PACQ as PACQ
from cute_attn.layouts.decode_work import TRACE_PEND as PEND
from cute_attn.layouts.decode_work import TRACE_PPRE as PPRE
from bench.decode import HK, HQ, D, head_dim_arg, use_head_dim
from bench.decode_ab import apply, case_inputs, case_lens



def _event_runs(fn, flush: str, reps: int, before=lambda: None, after=lambda: None) -> list:
    """``(us, after())`` of ``reps`` calls of ``fn`` (2 more first, untimed), each between two events after
    ``before()`` and an L2 eviction: ``zero`` zeroes a 256 MB buffer, ``read`` reads it."""
    buf = torch.ones(64 << 20, dtype=torch.float32, device="cuda")
    sink = torch.empty((), dtype=torch.float32, device="cuda")
    out = []
    for r in range(reps + 2):
        before()
        if flush == "zero":
            buf.zero_()
        else:
            torch.sum(buf, 0, out=sink)
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        torch.cuda.synchronize()
        if r >= 2:
            out.append((a.elapsed_time(b) * 1e3, after()))
    return out


def launches(w, q, cache, flush: str, reps: int):
    plan = w._plan
    ctas = plan.grid
    rows = plan.tmp_o.shape[0]
    big = torch.zeros(rows + ctas + 8, D, dtype=torch.float32, device="cuda")
    plan.tmp_o = big
    trace = big[-ctas:].view(torch.int32)[:, :min(COLS, D)]  # row shape[0] - 1 - c is CTA c
    return _event_runs(lambda: w.run(q, cache), flush, reps, before=trace.zero_,
                       after=lambda: trace.flip(0).cpu().numpy().astype(np.int64))  # stamps in CTA order


def null_kernel_us(flush: str, reps: int) -> float:
    """Median event time of a one-element torch kernel under the same flush and events as :func:`launches`: what
    any launch costs outside its own work in this protocol (the decode call's "outside the span" compares to it)."""
    x = torch.zeros(1, dtype=torch.float32, device="cuda")
    return float(np.median([us for us, _ in _event_runs(lambda: x.add_(1.0), flush, reps)]))


def summarize(runs, kv_bytes):
    def q3(x):
        return [float(np.min(x)), float(np.median(x)), float(np.max(x))]

    keys = {}
    for ev_us, t in runs:
        g = t[:, :8] & 0xFFFFFFFF
        t0 = g[:, 0].min()
        rel = lambda c: ((t[:, c] - t0) & 0xFFFFFFFF) / 1e3  # noqa: E731  us from the first CTA's start
        start, first, last_tile, end = rel(0), rel(1), rel(2), rel(3)
        span = end.max()
        clk = lambda a, b: ((t[:, b] - t[:, a]) & 0xFFFFFFFF).astype(np.float64)  # noqa: E731
        merged = t[:, 4] > 0
        d = {
            "event_us": ev_us,
            "span_us": span,
            "outside_us": ev_us - span,
            "start_us": q3(start),
            "first_tile_us": q3(first),
            "last_tile_us": q3(last_tile),
            "end_us": q3(end),
            "tail_after_median_last_tile_us": span - float(np.median(last_tile)),
            "stream_GBs_first_to_last_tile": kv_bytes / (float(np.median(last_tile)) - float(np.median(first))) / 1e3,
            "cyc_start_to_first": q3(clk(8, 9)),
            "cyc_first_to_last": q3(clk(9, 10)),
            "cyc_last_to_end": q3(clk(10, 11)),
            "merging_ctas": int(merged.sum()),
        }
        if merged.any():
            m_end = ((t[merged, 12] - t0) & 0xFFFFFFFF) / 1e3
            m_start = ((t[merged, 13] - t0) & 0xFFFFFFFF) / 1e3
            d["merge_epilogue_us"] = q3(m_end - m_start)
            d["last_merge_start_us"] = float(m_start.max())
            d["last_merge_end_us"] = float(m_end.max())
            if (t[merged, 14] != 0).all():  # builds since session 19: the epilogue around the split's atomic
                m_pre = ((t[merged, 14] - t0) & 0xFFFFFFFF) / 1e3
                m_post = ((t[merged, 15] - t0) & 0xFFFFFFFF) / 1e3
                d["merge_epi_to_atomic_us"] = q3(m_pre - m_start)  # normalize, partial stores, barrier
                d["merge_atomic_us"] = q3(m_post - m_pre)  # thread 0's acq_rel atomic between two barriers
                d["merge_loads_to_end_us"] = q3(m_end - m_post)  # the merge's loads, math, output stores issued
                last = int(np.argmax(m_end))
                d["last_merge_pieces_us"] = [float(m_pre[last] - m_start[last]), float(m_post[last] - m_pre[last]),
                                             float(m_end[last] - m_post[last]), float(span - m_end[last])]
                if (t[merged, 16] != 0).all():  # the merge's loop over the parts (loads + online math), then the rest
                    m_loop = ((t[merged, 16] - t0) & 0xFFFFFFFF) / 1e3
                    d["merge_parts_loop_us"] = q3(m_loop - m_post)
                    d["merge_final_us"] = q3(m_end - m_loop)  # 1 / sum, log2, output and LSE stores, counter reset
        # per item k < ITEMS (session 22 builds): us from the first CTA's start; an unstamped item reads 0
        stamped = t[:, FIRST:FIRST + ITEMS] != 0
        r_first = ((t[:, FIRST:FIRST + ITEMS] - t0) & 0xFFFFFFFF) / 1e3
        r_epi = ((t[:, EPI:EPI + ITEMS] - t0) & 0xFFFFFFFF) / 1e3
        r_issue = ((t[:, ISSUE:ISSUE + ITEMS] - t0) & 0xFFFFFFFF) / 1e3
        r_kv = ((t[:, KV:KV + ITEMS] - t0) & 0xFFFFFFFF) / 1e3
        if stamped.any():
            d["item_first_to_epilogue_us"] = q3((r_epi - r_first)[stamped])
            d["item_kv_to_first_us"] = q3((r_first - r_kv)[stamped])  # past the KV wait -> Q landed, barrier
        both = stamped[:, 1:] & stamped[:, :-1]  # item k + 1 follows item k on the same CTA
        if both.any():
            d["item_transition_gap_us"] = q3((r_first[:, 1:] - r_epi[:, :-1])[both])  # epilogue -> next first tile
            d["producer_lead_us"] = q3((r_epi[:, :-1] - r_issue[:, 1:])[both])  # next item issued before epilogue
            if t.shape[1] >= PPRE + ITEMS:  # producer stamps (head_dim >= 128 builds since session 22 call 4)
                r_pend = ((t[:, PEND:PEND + ITEMS] - t0) & 0xFFFFFFFF) / 1e3
                r_pacq = ((t[:, PACQ:PACQ + ITEMS] - t0) & 0xFFFFFFFF) / 1e3
                r_ppre = ((t[:, PPRE:PPRE + ITEMS] - t0) & 0xFFFFFFFF) / 1e3
                # item k's last tile issued -> item k + 1's start (row loads, the first page-id load) -> acquire passed
                d["producer_end_to_pre_acquire_us"] = q3((r_ppre[:, 1:] - r_pend[:, :-1])[both])
                d["producer_acquire_wait_us"] = q3((r_pacq[:, 1:] - r_ppre[:, 1:])[both])
                d["producer_end_to_acquire_us"] = q3((r_pacq[:, 1:] - r_pend[:, :-1])[both])
                # acquire passed -> first tile's copies issued (the page-id wait, the copies)
                d["producer_acquire_to_issue_us"] = q3((r_issue[:, 1:] - r_pacq[:, 1:])[both])
                d["producer_end_before_epilogue_us"] = q3((r_epi[:, :-1] - r_pend[:, :-1])[both])
        prod_first = ((t[:, 6] - t0) & 0xFFFFFFFF) / 1e3
        prod_last = ((t[:, 7] - t0) & 0xFFFFFFFF) / 1e3
        d["producer_first_issue_us"] = q3(prod_first)
        d["producer_last_issue_us"] = q3(prod_last)
        for k, v in d.items():
            keys.setdefault(k, []).append(v)
    out = {}
    for k, vs in keys.items():
        if isinstance(vs[0], list):
            out[k] = [float(np.median([v[i] for v in vs])) for i in range(len(vs[0]))]
        else:
            out[k] = float(np.median(vs))
    return out


BRIEF_KEYS = ("event_us", "stream_GBs_first_to_last_tile", "last_tile_us", "tail_after_median_last_tile_us",
              "item_first_to_epilogue_us", "item_transition_gap_us", "producer_lead_us", "item_kv_to_first_us",
              "producer_end_to_pre_acquire_us", "producer_acquire_wait_us", "producer_acquire_to_issue_us")


def brief(row: dict) -> str:
    """One line of a result row: case, page, setting and the BRIEF_KEYS it has, rounded to 0.01."""
    def r(v):
        return round(v, 2) if isinstance(v, float) else [round(x, 2) for x in v]
    return f"{row['case']} {row['page']} {row['setting']} " + str({k: r(row[k]) for k in BRIEF_KEYS if k in row})


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--cases", nargs="+", default=["1 x 32k"])
    p.add_argument("--pages", nargs="+", type=int, default=[16])
    p.add_argument("--flush", nargs="+", default=["read", "zero"])
    p.add_argument("--settings", nargs="+", default=["base"], help="bench.decode_ab settings (NAME=VALUE...), or s4: one-item plans on the 4-stage variant")
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--json")
    p.add_argument("--raw", help="npz of the last setting's raw stamps")
    p.add_argument("--brief", action="store_true",
                   help="also print one short line per case: event, stream, tail and the per-item transition figures")
    head_dim_arg(p, "bf16 decode of this head dim (a CUTE_ATTN_DECODE_TRACE=1 build of it in CUTE_ATTN_ARTIFACTS)")
    args = p.parse_args(argv)
    use_head_dim(args.head_dim, __name__)
    res, raw = [], {}
    for fl in args.flush:
        row = {"null_kernel": "x.add_(1), one element", "flush": fl, "event_us": null_kernel_us(fl, args.reps)}
        res.append(row)
        print(json.dumps(row), flush=True)
    for name in args.cases:
        kv_lens = case_lens(name)
        kv_bytes = sum(kv_lens) * HK * D * 2 * 2
        for page_size in args.pages:
            cache, indptr, indices, last, q = case_inputs(kv_lens, page_size)
            for setting in args.settings:
                saved = dec.DECODE_ONE_ITEM_STAGES
                if setting == "s4":  # one-item plans on the 4-stage variant (the default kernel) too
                    dec.DECODE_ONE_ITEM_STAGES = {}
                apply("base" if setting == "s4" else setting)
                w = cute_attn.BatchDecodeWithPagedKVCacheWrapper()
                w.plan(indptr, indices, last, HQ, HK, D, page_size)
                work = w._plan.work
                for fl in args.flush:
                    runs = launches(w, q, cache, fl, args.reps)
                    row = {"case": name, "page": page_size, "setting": setting, "flush": fl, "ctas": work.num_ctas, "stages": w._plan.spec.stages,
                           "splits": work.num_splits, **summarize(runs, kv_bytes)}
                    res.append(row)
                    raw[f"{name}|{page_size}|{setting}|{fl}"] = np.stack([t for _, t in runs])
                    print(json.dumps(row), flush=True)
                apply("base")
                dec.DECODE_ONE_ITEM_STAGES = saved
            del cache
            torch.cuda.empty_cache()
    if args.brief:
        for row in res:
            if "case" in row:
                print(brief(row), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    if args.raw:
        np.savez_compressed(args.raw, **{k.replace(" ", "_").replace("|", "__"): v for k, v in raw.items()})


if __name__ == "__main__":
    main()
