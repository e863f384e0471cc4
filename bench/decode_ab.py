"""Decode A/B helper: GB/s of the bench.decode cases for whichever cute_attn is on PYTHONPATH, with cuDNN
SDPA in the same process; optionally over several planner queue settings (STATIC_FRACTION,
QUEUE_SLOTS_PER_SM, QUEUE_MIN_ROWS) of a build that has them. Run as a file (``python3 bench/decode_ab.py``)
so that two checkouts can be compared, each process its own build:

    PYTHONPATH=<checkout> CUTE_ATTN_ARTIFACTS=<checkout>/build/artifacts/sm_90a \\
        python3 <checkout>/bench/decode_ab.py --label new --settings 0.9,4,128 off --json out.json
"""

from __future__ import annotations

import argparse
import json

import torch

import cute_attn
import cute_attn.decode as dec
from bench.common import FLUSH_MODES, time_ms_flush
from bench.decode import CASES, DTYPE, HK, HQ, D, paged_inputs, sdpa_decode

KNOBS = ("STATIC_FRACTION", "QUEUE_SLOTS_PER_SM", "QUEUE_MIN_ROWS")


_SAVED: dict = {}


def apply(setting: str) -> None:
    """``off`` (no queue), ``base`` (the build's defaults, also for a build without knobs), f,per_sm,min_rows,
    or ``NAME=VALUE[:NAME=VALUE]``: module constants of cute_attn.decode (ints), planned by the numpy planner
    (the compiled one has them built in)."""
    for k, v in _SAVED.items():  # undo the last NAME=VALUE setting
        if k == "_PLANNER":
            dec._PLANNER[:] = v
        else:
            setattr(dec, k, v)
    _SAVED.clear()
    if "=" in setting:
        dec.compiled_planner()  # loaded (or None) into dec._PLANNER
        _SAVED["_PLANNER"] = dec._PLANNER[:]
        for kv in setting.split(":"):
            k, v = kv.split("=")
            _SAVED[k] = getattr(dec, k)
            setattr(dec, k, int(v))
        dec._PLANNER[:] = [None]
        return
    if not hasattr(dec, "QUEUE_SLOTS_PER_SM"):
        assert setting == "base", f"this build has no queue knobs: {setting}"
        return
    defaults = apply.__dict__.setdefault("defaults", tuple(getattr(dec, k) for k in KNOBS))
    if setting == "base":
        values = defaults
    elif setting == "off":
        values = (defaults[0], 0, defaults[2])
    else:
        f, n, r = setting.split(",")
        values = (float(f), int(n), int(r))
    for k, v in zip(KNOBS, values):
        setattr(dec, k, v)


def case_lens(name: str) -> list[int]:
    """A bench.decode case by name, ``"<batch> x <n>k"``, or ``"mixed <batch> x <lo>..<hi>"`` (lengths drawn uniformly
    from [lo, hi), numpy generator seed 0: the same batch in every process)."""
    cases = dict(CASES)
    if name in cases:
        return cases[name]
    if name.startswith("mixed "):
        b, span = name[len("mixed "):].split(" x ")
        lo, hi = (int(x) for x in span.split(".."))
        import numpy as np

        return [int(n) for n in np.random.default_rng(0).integers(lo, hi, int(b))]
    b, n = name.split(" x ")
    return [int(n[:-1]) * 1024 if n.endswith("k") else int(n)] * int(b)



def case_inputs(kv_lens: list[int], page_size: int):
    """The paged inputs of a case at one page size, the same in every process (seeded page permutation):
    ``(cache, kv_indptr, kv_indices, kv_last_page_len, q)``."""
    torch.manual_seed(page_size)
    cache, indptr, indices, last = paged_inputs(kv_lens, page_size)
    q = torch.randn(len(kv_lens), HQ, D, dtype=DTYPE, device="cuda")
    return cache, indptr, indices, last, q


_FLUSH: list = []


def time_l2(fn, state: str, reps: int = 40) -> float:
    try:
        return _time_l2(fn, state, reps)
    except Exception as e:  # an extra timing must not cost the process's other rows
        print(f"time_l2 {state} failed: {e!r}", flush=True)
        return float("nan")


def _time_l2(fn, state: str, reps: int) -> float:
    """Median ms of ``fn()`` with L2 holding 256 MB worth of ``dirty`` lines (zeroed buffer, like triton's
    do_bench) or ``clean`` lines (a read-only pass over the buffer) before each call."""
    if not _FLUSH:
        _FLUSH.append(torch.empty(64 << 20, dtype=torch.float32, device="cuda"))
    buf = _FLUSH[0]
    fn()
    ev = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(reps)]
    for a, b in ev:
        if state == "dirty":
            buf.zero_()
        else:
            buf.sum()
        a.record()
        fn()
        b.record()
    torch.cuda.synchronize()
    t = sorted(a.elapsed_time(b) for a, b in ev)
    return t[len(t) // 2]


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--label", required=True)
    p.add_argument("--settings", nargs="+", default=["base"])
    p.add_argument("--cases", nargs="+", default=["64 x 4k", "16 x 16k", "128 x 1k", "1 x 32k", "8 x 32k"])
    p.add_argument("--pages", nargs="+", type=int, default=[16, 1])
    p.add_argument("--cudnn", action="store_true")
    p.add_argument("--host", action="store_true", help="also plan() / run() host times (bench.decode's)")
    p.add_argument("--l2", nargs="*", default=[], help="also time with L2 'dirty' / 'clean' before each call")
    p.add_argument("--flush", nargs="+", choices=FLUSH_MODES, default=["zero"],
                   help="main timer(s): bench.common.time_ms_flush (zero = triton do_bench)")
    p.add_argument("--json")
    args = p.parse_args(argv)
    rows = []
    for name in args.cases:
        kv_lens = case_lens(name)
        kv_bytes = sum(kv_lens) * HK * D * 2 * 2
        for page_size in args.pages:
            cache, indptr, indices, last, q = case_inputs(kv_lens, page_size)
            for setting in args.settings:
                apply(setting)
                w = cute_attn.BatchDecodeWithPagedKVCacheWrapper()
                w.plan(indptr, indices, last, HQ, HK, D, page_size)
                work = w._plan.work
                for fl in args.flush:
                    ms = time_ms_flush(lambda: w.run(q, cache), fl)
                    tag = "" if fl == "zero" else f"_{fl}"
                    rows.append({"label": args.label, "setting": setting + tag, "case": name, "page": page_size,
                                 "us": ms * 1e3, "GBs": kv_bytes / ms / 1e6, "ctas": work.num_ctas,
                                 "queue": getattr(work, "queue", 0), "splits": work.num_splits})
                    print(json.dumps(rows[-1]), flush=True)
                for state in args.l2:
                    ms = time_l2(lambda: w.run(q, cache), state)
                    rows.append({"label": args.label, "setting": f"{setting}_l2{state}", "case": name, "page": page_size,
                                 "us": ms * 1e3, "GBs": kv_bytes / ms / 1e6})
                    print(json.dumps(rows[-1]), flush=True)
            del cache
            torch.cuda.empty_cache()
            apply("base")
        if args.cudnn:
            from torch.nn.attention import SDPBackend

            q4 = torch.randn(len(kv_lens), HQ, 1, D, dtype=DTYPE, device="cuda")
            kd = torch.randn(len(kv_lens), HK, max(kv_lens), D, dtype=DTYPE, device="cuda")
            vd = torch.randn_like(kd)
            for fl in args.flush:
                ms = time_ms_flush(lambda: sdpa_decode(q4, kd, vd, SDPBackend.CUDNN_ATTENTION), fl)
                tag = "" if fl == "zero" else f"_{fl}"
                rows.append({"label": args.label, "setting": "cudnn" + tag, "case": name, "page": 0, "us": ms * 1e3,
                             "GBs": kv_bytes / ms / 1e6})
                print(json.dumps(rows[-1]), flush=True)
            for state in args.l2:
                ms = time_l2(lambda: sdpa_decode(q4, kd, vd, SDPBackend.CUDNN_ATTENTION), state)
                rows.append({"label": args.label, "setting": f"cudnn_l2{state}", "case": name, "page": 0,
                             "us": ms * 1e3, "GBs": kv_bytes / ms / 1e6})
                print(json.dumps(rows[-1]), flush=True)
            del kd, vd
            torch.cuda.empty_cache()
    host = {}
    if args.host:
        from bench.decode import plan_host_time_us, run_host_time_us

        host = {"plan_us": plan_host_time_us(), "run_us": run_host_time_us()}
        print(json.dumps(host), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "host": host}, f, indent=1)


if __name__ == "__main__":
    main()
