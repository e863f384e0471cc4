"""Sustained throughput, SM clock and board power of each prefill kernel running alone (issues 4 and 5).

    python -m bench.power_probe [--secs 4] [--cases 128:causal,128:full,256:full] [--json out.json]
    python -m bench.power_probe --paged "prefill 4x4k" [--passes 2] [--secs 4] [--json out.json]

Session 7 found that timing the kernels call by call at one shared clock (``bench.common.compare``'s ``paired``
mode) puts ours 12-17 % higher at 16k than its own timing windows do, i.e. that ours runs at a lower clock when it
runs alone. This measures that directly: each kernel of a 1 x 16k case (ours, cuDNN) runs back to back for ``--secs``
seconds, alone, while ``nvidia-smi`` logs the SM clock and the power every 50 ms; per window: TFLOP/s over the whole
window, median SM clock and power over its last ``secs - 1`` seconds, TFLOP/s per GHz (work per clock) and per kW.

``--paged CASE`` (a case name of ``bench.prefill_paged``, hd128 causal bf16 as that bench): the kernels are our dense
one and the paged one at page sizes 1 / 16 / 64 on the same data (checked equal as in that bench), and the ratios are
against dense (``*_x_dense``). ``--passes 2`` runs the kernels again in reverse order, so that an order effect (a
kernel billed the heat of the one before it) shows as a difference between its two windows.
"""

from __future__ import annotations

import argparse
import datetime
import subprocess
import time

import torch

from .common import device_info, markdown_table, median, write_json
from .prefill import case_fns
from .prefill_paged import CASES as PAGED_CASES
from .prefill_paged import paged_case_fns

KERNELS = ("cute_attn", "cudnn")


def run_window(fn, secs: float) -> tuple[float, float, int]:
    """``fn`` back to back for ``secs`` seconds (synchronizing every 50 calls): (start, end, calls), wall-clock."""
    torch.cuda.synchronize()
    t0 = time.time()
    calls = 0
    while True:
        for _ in range(50):
            fn()
        calls += 50
        torch.cuda.synchronize()
        t1 = time.time()
        if t1 - t0 >= secs:
            return t0, t1, calls


def parse_log(text: str) -> list[tuple[float, float, float]]:
    """``nvidia-smi --query-gpu=timestamp,clocks.sm,power.draw --format=csv,noheader,nounits`` lines ->
    ``[(unix time, MHz, W)]`` (lines that do not parse are skipped)."""
    out = []
    for line in text.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 3:
            continue
        try:
            ts = datetime.datetime.strptime(parts[0], "%Y/%m/%d %H:%M:%S.%f").timestamp()
            out.append((ts, float(parts[1]), float(parts[2])))
        except ValueError:
            continue
    return out


def window_stats(samples, t0: float, t1: float, skip: float = 1.0) -> tuple[float, float, int]:
    """Median MHz and W of the samples in ``[t0 + skip, t1]`` and their count."""
    sel = [(mhz, w) for ts, mhz, w in samples if t0 + skip <= ts <= t1]
    if not sel:
        return float("nan"), float("nan"), 0
    return median([m for m, _ in sel]), median([w for _, w in sel]), len(sel)


def logged_windows(jobs, secs: float) -> tuple[list[dict], list]:
    """Runs each job of ``jobs`` (an iterable of ``(fields, fn, flops)``) alone for ``secs`` seconds after 1 s idle while
    ``nvidia-smi`` logs the SM clock and power every 50 ms. Returns the windows (``fields`` plus t0, t1, calls, TFLOP/s,
    the median MHz and W after the first second, TFLOP/s per GHz and per kW) and the log's samples."""
    log = subprocess.Popen(["nvidia-smi", "--query-gpu=timestamp,clocks.sm,power.draw", "--format=csv,noheader,nounits",
                            "-lms", "50"], stdout=subprocess.PIPE, text=True)
    windows = []
    try:
        for fields, fn, flops in jobs:
            time.sleep(1.0)  # let the board cool between windows
            t0, t1, calls = run_window(fn, secs)
            windows.append({**fields, "t0": t0, "t1": t1, "calls": calls, "tflops": flops * calls / (t1 - t0) / 1e12})
            print(windows[-1], flush=True)
    finally:
        time.sleep(0.2)
        log.terminate()
        text, _ = log.communicate(timeout=10)
    samples = parse_log(text)
    for w in windows:
        mhz, watts, n = window_stats(samples, w["t0"], w["t1"])
        w.update(mhz=mhz, watts=watts, samples=n, tflops_per_ghz=w["tflops"] / (mhz / 1e3) if n else float("nan"),
                 tflops_per_kw=w["tflops"] / (watts / 1e3) if n else float("nan"))
    return windows, samples


def add_ratios(windows: list[dict], ref_kernel: str, group: tuple[str, ...], skip_ref: bool = False) -> None:
    """Adds ``<metric>_x_<ref_kernel>`` (TFLOP/s, per GHz, per kW) to every window that has a window of ``ref_kernel``
    with the same ``group`` fields; ``skip_ref``: not to the reference's own windows."""
    for w in windows:
        ref = next((x for x in windows if x["kernel"] == ref_kernel and all(x[g] == w[g] for g in group)), None)
        if ref is not None and not (skip_ref and ref is w):
            for k in ("tflops", "tflops_per_ghz", "tflops_per_kw"):
                w[f"{k}_x_{ref_kernel}"] = w[k] / ref[k]


def report(args, windows: list[dict], samples: list, ref: str, group: tuple[str, ...], lead: list[str], what: str,
           skip_ref: bool = False, **extra) -> None:
    """Ratios against ``ref`` within ``group`` (``skip_ref``: none on the reference's own rows), the table (``lead``
    columns first) under a title naming ``what`` was timed, and the JSON (``extra`` fields added)."""
    add_ratios(windows, ref, group, skip_ref=skip_ref)
    info = device_info()
    ratio_cols = [f"{k}_x_{ref}" for k in ("tflops", "tflops_per_ghz", "tflops_per_kw")]
    cols = lead + ["tflops", "mhz", "watts", "tflops_per_ghz", "tflops_per_kw"] + ratio_cols + ["samples"]
    print(f"{info['device']}, {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC, {what}, each kernel alone for "
          f"{args.secs:g} s (nvidia-smi every 50 ms, the first second left out)")
    print(markdown_table([{k: (f"{v:.3f}" if "_x_" in k else v) for k, v in w.items()} for w in windows], cols))
    if args.json:
        write_json(args.json, {"env": info, "secs": args.secs, **extra, "windows": windows, "samples": samples})


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--json")
    p.add_argument("--secs", type=float, default=4.0)
    p.add_argument("--cases", default="128:causal,128:full,256:full", help="hd:causal|full, comma-separated (1 x 16k)")
    p.add_argument("--paged", choices=[c[0] for c in PAGED_CASES],
                   help="a bench.prefill_paged case instead: dense and pages 1 / 16 / 64 (hd128 causal)")
    p.add_argument("--passes", type=int, default=1, help="passes over the kernels; even passes in reverse order")
    args = p.parse_args(argv)
    if args.paged:
        return main_paged(args)
    cases = []
    for c in args.cases.split(","):
        hd, mask = c.split(":")
        if mask not in ("causal", "full"):
            p.error(f"--cases: hd:causal|full, got {c!r}")
        cases.append((int(hd), mask == "causal"))

    def jobs():
        for hd, causal in cases:
            hdv = 128 if hd == 192 else hd
            row, fns, flops = case_fns(1, 16384, hd, hdv, causal)
            for name in KERNELS:
                if fns.get(name) is not None:
                    yield {"case": row["case"], "kernel": name}, fns[name], flops
            del fns

    windows, samples = logged_windows(jobs(), args.secs)
    report(args, windows, samples, "cudnn", ("case",), ["case", "kernel"], "1 x 16k", skip_ref=True)


def main_paged(args):
    """``--paged``: dense and the paged kernels of one bench.prefill_paged case, each alone for ``secs`` seconds."""
    name, q_lens, kv_lens = next(c for c in PAGED_CASES if c[0] == args.paged)
    fns, flops, kernels = paged_case_fns(name, q_lens, kv_lens)
    order = list(fns)
    jobs = [({"case": name, "kernel": k, "pass": rep}, fns[k], flops)
            for rep in range(max(1, args.passes)) for k in (order if rep % 2 == 0 else order[::-1])]
    windows, samples = logged_windows(jobs, args.secs)
    report(args, windows, samples, "dense", ("pass",), ["kernel", "pass"],
           f"{name} hd128 causal, {args.passes} pass(es)", case=name, kernels=kernels)


if __name__ == "__main__":
    main()
