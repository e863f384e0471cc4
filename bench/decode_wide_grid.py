"""Decode A/B (session 14): the default persistent plan (at most one CTA per SM, several whole sequences per CTA at
64 x 4k / 128 x 1k) against a wide grid of one sequence per CTA (cuDNN's shape: 512 CTAs at 64 x 4k, 1024 at 128 x 1k),
which plan() makes when it is told the GPU has that many SMs, and which then runs the 3-stage one-item variant (113 KB
of shared memory: two CTAs per SM; the hardware schedules the waves). Labels: ``default``; ``wide`` (the wide plan, the
kernel plan() picks: 3 stages); ``wide4`` (the same plan on the default 4-stage kernel: one CTA per SM). Outputs are
compared with the default plan's (bit-identical expected: the same sequences, unsplit). cuDNN SDPA in the same rounds.

    python3 -m bench.decode_wide_grid [--cases "64 x 4k" "128 x 1k"] [--pages 16 1] [--flush zero read] [--rounds 6]
"""

from __future__ import annotations

import argparse
import json
import time

import torch
import cute_attn
import cute_attn.decode as CD
from cute_attn.artifacts import get_kernel
from bench.common import time_ms_flush
from bench.decode import DTYPE, HK, HQ, D
from bench.decode_ab import case_inputs, case_lens
from bench.decode_multi_build import summarize, time_cudnn


def wide_plan(indptr, indices, last, page_size: int, n_seq: int):
    """A wrapper planned as if the GPU had ``n_seq`` SMs: one whole sequence per CTA (plan() then picks the one-item
    variant itself)."""
    real = CD._num_sms
    CD._num_sms = lambda device: n_seq
    try:
        w = cute_attn.BatchDecodeWithPagedKVCacheWrapper()
        w.plan(indptr, indices, last, HQ, HK, D, page_size)
    finally:
        CD._num_sms = real
    return w


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--cases", nargs="+", default=["64 x 4k", "128 x 1k"])
    p.add_argument("--pages", nargs="+", type=int, default=[16, 1])
    p.add_argument("--flush", nargs="+", default=["zero", "read"])
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--rep-ms", type=float, default=60)
    p.add_argument("--json")
    args = p.parse_args(argv)
    t0 = time.time()
    rows, setups = [], []
    for name in args.cases:
        kv_lens = case_lens(name)
        kv_bytes = sum(kv_lens) * HK * D * 2 * 2
        for ps in args.pages:
            cache, indptr, indices, last, q = case_inputs(kv_lens, ps)
            w = cute_attn.BatchDecodeWithPagedKVCacheWrapper()
            w.plan(indptr, indices, last, HQ, HK, D, ps)
            ww, w4 = (wide_plan(indptr, indices, last, ps, len(kv_lens) * HK) for _ in range(2))
            w4.run(q, cache)
            w4._plan.kernel = get_kernel(CD._decode_spec(DTYPE, D))  # the 4-stage kernel on the wide plan
            labels = {"default": w, "wide": ww, "wide4": w4}
            ref = None
            info = {"case": name, "page": ps}
            for label, wl in labels.items():
                o = wl.run(q, cache).float()
                torch.cuda.synchronize()
                if ref is None:
                    ref = o.clone()
                info[label] = {"ctas": wl._plan.grid, "spec": wl._plan.spec.name,
                               "max_diff_vs_default": float((o - ref).abs().max())}
            print(json.dumps(info), flush=True)
            setups.append((name, ps, kv_bytes, labels, q, cache, len(kv_lens), max(kv_lens)))
    for r in range(args.rounds):
        for name, ps, kv_bytes, labels, q, cache, b, n in setups:
            order = list(labels) if r % 2 == 0 else list(labels)[::-1]
            for fl in args.flush:
                for label in order:
                    wl = labels[label]
                    ms = time_ms_flush(lambda: wl.run(q, cache), fl, warmup_ms=10, rep_ms=args.rep_ms)
                    rows.append({"round": r + 1, "label": label, "flush": fl, "case": name, "page": ps,
                                 "us": ms * 1e3, "GBs": kv_bytes / ms / 1e6})
                    print(json.dumps(rows[-1]), flush=True)
    time_cudnn([(name, kv_bytes, b, n) for name, ps, kv_bytes, labels, q, cache, b, n in setups
                if ps == args.pages[0]], args.flush, args.rep_ms, rows)
    summarize(rows, ["default", "wide", "wide4", "cudnn"])
    print(json.dumps({"elapsed_s": time.time() - t0}), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
