"""Host time of the prefill plan() on the CPU (no GPU needed): the dense wrapper's plan() and the paged one's, for
the batches of ``bench.prefill.plan_host_times``, with the schedule on 132 slots (an H100's CTAs; the plan stays on
the CPU: no host->device copy) and with the compiled planner or the Python one (``--python``).

    PYTHONPATH=$PWD python -m bench.prefill_plan_host [--python] [--reps 50] [--json out.json]

Works on older trees too (before the compiled plan: patches ``_max_ctas`` and ``_to_device`` instead).
"""

from __future__ import annotations

import argparse
import importlib
import json
import random
import statistics
import time

import torch

import cute_attn

P = importlib.import_module("cute_attn.prefill")
PP = importlib.import_module("cute_attn.prefill_paged")
SLOTS = 132


def batches() -> dict:
    rng = random.Random(0)  # the lengths of bench.prefill.plan_host_times
    return {"1 x 16k": [16384], "4 x 4k": [4096] * 4,
            "ragged 12": [8192, 4096, 2048, 1024, 512, 512, 256, 128, 3000, 17, 1, 700],
            "ragged 64 (~64k tokens)": [rng.randint(1, 2000) for _ in range(64)]}


def _patch(python: bool):
    """Plans on the CPU with SLOTS slots; ``python``: without the compiled planner. Returns the device to plan for."""
    if hasattr(P, "_plan_slots"):
        P._plan_slots = lambda device: SLOTS
        if python:
            P._PLAN_LIB[:] = [None]
            P.PLAN_FALLBACK_REASON[:] = ["--python"]
        return torch.device("cpu")
    P._max_ctas = lambda device: SLOTS  # an older tree: plan "for a GPU", copies skipped
    P._to_device = lambda t, device: t
    PP._max_ctas, PP._to_device = P._max_ctas, P._to_device
    if python:
        P._PLAN_LIB[:] = [None]
    return torch.device("cuda")


def median_us(fn, reps: int) -> tuple[float, float, float]:
    """(median, min) wall time and median CPU time of this thread, us (on a shared box the CPU time and the minimum
    are the steadier figures)."""
    fn()
    wall, cpu = [], []
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.thread_time()
        fn()
        wall.append((time.perf_counter() - t0) * 1e6)
        cpu.append((time.thread_time() - c0) * 1e6)
    return statistics.median(wall), min(wall), statistics.median(cpu)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", action="store_true", help="the Python planner (the compiled one is the default)")
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    device = _patch(args.python)
    print("plan() host time, us: median wall / min wall / median CPU")
    out = {}
    for name, lens in batches().items():
        indptr = [0]
        for n in lens:
            indptr.append(indptr[-1] + n)
        w = cute_attn.BatchPrefillWithRaggedKVCacheWrapper(device)
        w.__dict__["device"] = device

        def dense():
            w.plan(indptr, indptr, 16, 16, 128, causal=True, q_data_type=torch.bfloat16)

        page = 16
        pages = [0]
        for n in lens:
            pages.append(pages[-1] + -(-n // page))
        kv_indptr = torch.tensor(pages, dtype=torch.int32)
        kv_indices = torch.arange(pages[-1], dtype=torch.int32)
        last = torch.tensor([(n - 1) % page + 1 for n in lens], dtype=torch.int32)
        qo = torch.tensor(indptr, dtype=torch.int32)
        pw = cute_attn.BatchPrefillWithPagedKVCacheWrapper(device=device)

        def paged():
            pw.plan(qo, kv_indptr, kv_indices, last, 16, 16, 128, page, causal=True)

        d_us, p_us = median_us(dense, args.reps), median_us(paged, args.reps)
        plan = w._plan
        out[name] = {"dense_us": [round(x, 1) for x in d_us], "paged_us": [round(x, 1) for x in p_us],
                     "num_ctas": plan.num_ctas, "work_rows": int(plan.work.shape[0]), "schedule": plan.schedule}
        print(f"{name:24s} dense {d_us[0]:7.0f} / {d_us[1]:7.0f} / {d_us[2]:7.0f}   paged {p_us[0]:7.0f} / "
              f"{p_us[1]:7.0f} / {p_us[2]:7.0f}   ({plan.work.shape[0]} work rows, {plan.num_ctas} CTAs, "
              f"{plan.schedule})", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"planner": "python" if args.python else getattr(P, "planner", lambda: "python")(),
                       "slots": SLOTS, "units": "us: median wall, min wall, median CPU", "batches": out}, f, indent=1)
    return out


if __name__ == "__main__":
    main()
