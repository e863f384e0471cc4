"""A/B of dense prefill builds in ONE process: the package's plan (its tile choice, e.g. hd64 causal 16 x 1k on the
short 128-row tile) run with the kernels of several artifact directories, side by side (bench.common.compare:
warm-up, interleaved rounds of alternating order), next to cuDNN SDPA.

    python -m bench.prefill_dense_ab --variant base=DIR_A --variant new=DIR_B [--variant ...] \\
        [--cases 16x1024:64:causal,1x16384:128:full] [--rounds 6] [--no-cudnn] [--json out.json]

A build is an artifact directory (``python -m cute_attn.build --out DIR``, e.g. with a build-time switch set); its
prefill kernels are loaded from there whatever the running checkout's sources are (the manifest's source hash is
not checked), so builds of one source with different switches compare directly. The dense analogue of
``bench.prefill_paged_ab``. Every build's output and LSE are compared with the first build's (max abs difference
printed; an error when above ``--atol``), which also checks the first build against a float32 reference on a
small slice of rows. Case ``BxN:hd:causal|full``: B requests of N tokens, heads * hd = 2048, bf16 (``--dtype``);
``ragged:hd:causal|full``: bench.prefill's ragged batch (no cuDNN: SDPA has no ragged form).

``--env NAME:KEY=VAL[;KEY=VAL...]`` (repeatable): build NAME runs with its own plan, made with these environment
variables set (e.g. ``CUTE_ATTN_PREFILL_SCHEDULE=serpentine``, ``CUTE_ATTN_PREFILL_CTAS=128``: NOTES-prefill 22;
``CUTE_ATTN_PREFILL_SPLIT=0``: the same kernel without the split-KV of the last round, e.g. ``--variant split=DIR
--variant nosplit=DIR_COPY --env nosplit:CUTE_ATTN_PREFILL_SPLIT=0``; ``CUTE_ATTN_PREFILL_CLUSTER=2`` for a build
made with that switch, NOTES-prefill 27: its plan has pair rows and 2 CTAs per slot). The other builds share the plan
made with all of these variables unset. Two names may load one directory only through copies (one library per build object).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import math
import os

import torch

import cute_attn

from .common import (ArtifactBuild, compare, device_info, markdown_table, median, route_get_kernel, timing_arg,
                     use_timing, write_json)
from .prefill import visible_pairs

_P = importlib.import_module("cute_attn.prefill")  # the package's ``prefill`` attribute is the function
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
DEFAULT_CASES = ("16x1024:64:causal,16x1024:64:full,1x16384:64:causal,1x16384:64:full,"
                 "1x16384:128:full,1x16384:256:full")

PLAN_VARS = ("CUTE_ATTN_PREFILL_CLUSTER", "CUTE_ATTN_PREFILL_CTAS", "CUTE_ATTN_PREFILL_SCHEDULE", "CUTE_ATTN_PREFILL_SET",
             "CUTE_ATTN_PREFILL_SPLIT")
_with = route_get_kernel(_P)  # _with(build, fn): fn with its kernels from the build


# ``ragged:hd:mask``: bench.prefill's ragged batch (12 requests, 20486 tokens)
RAGGED_LENS = (8192, 4096, 2048, 1024, 512, 512, 256, 128, 3000, 17, 1, 700)


def parse_case(text: str):
    """``"16x1024:64:causal"`` -> ``([1024] * 16, 64, True)``; ``"ragged:128:causal"`` -> (:data:`RAGGED_LENS`, ...)."""
    shape, hd, mask = text.split(":")
    assert mask in ("causal", "full"), text
    if shape == "ragged":
        return list(RAGGED_LENS), int(hd), mask == "causal"
    b, _, n = shape.partition("x")
    return [int(n)] * int(b), int(hd), mask == "causal"


def reference_rows(q, k, v, n, causal, scale, rows):
    """float32 O of the first request's query rows ``rows`` (all heads)."""
    qf = q[rows].float()                          # (r, h, d)
    kf, vf = k[:n].float(), v[:n].float()        # (n, h, d)
    s = torch.einsum("rhd,nhd->hrn", qf, kf) * scale
    if causal:
        idx = torch.arange(n, device=q.device)
        s = s.masked_fill(idx[None, None, :] > rows.to(q.device)[None, :, None], float("-inf"))
    return torch.einsum("hrn,nhd->rhd", torch.softmax(s, -1), vf)


def parse_plan_env(envs: list[str]) -> dict[str, dict[str, str]]:
    """``--env`` values -> {build name: {variable: value}}."""
    out: dict[str, dict[str, str]] = {}
    for e in envs:
        name, _, pairs = e.partition(":")
        for pair in filter(None, pairs.split(";")):
            key, eq, value = pair.partition("=")
            if not eq or key not in PLAN_VARS:
                raise ValueError(f"--env {e!r}: expected NAME:KEY=VAL[;KEY=VAL] with KEY in {PLAN_VARS}")
            out.setdefault(name, {})[key] = value
    return out


@contextlib.contextmanager
def _env(**values):
    """Environment variables set (value str) or unset (None) inside the block, restored after it."""
    def apply(env):
        for k, v in env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    old = {k: os.environ.get(k) for k in values}
    try:
        apply(values)
        yield
    finally:
        apply(old)


def setup_case(lens, hd, causal, builds, dtype, cudnn, atol, plan_env=None):
    heads = 2048 // hd
    batch, n, uniform = len(lens), lens[0], len(set(lens)) == 1
    torch.manual_seed(0)
    q = torch.randn(sum(lens), heads, hd, dtype=dtype, device="cuda")
    k, v = torch.randn_like(q), torch.randn_like(q)
    out = torch.empty_like(q)
    indptr = [0]
    for x in lens:
        indptr.append(indptr[-1] + x)
    plan_env = plan_env or {}
    unset = dict.fromkeys(PLAN_VARS)
    with _env(**unset):
        w0 = cute_attn.BatchPrefillWithRaggedKVCacheWrapper()
        w0.plan(indptr, indptr, heads, heads, hd, causal=causal, q_data_type=dtype)
    wrappers = {}
    for b in builds:
        if b.name in plan_env:
            with _env(**{**unset, **plan_env[b.name]}):
                wrappers[b.name] = cute_attn.BatchPrefillWithRaggedKVCacheWrapper()
                wrappers[b.name].plan(indptr, indptr, heads, heads, hd, causal=causal, q_data_type=dtype)
        else:
            wrappers[b.name] = w0
    w = w0
    scale = 1.0 / math.sqrt(hd)
    fns, diffs, first = {}, {}, None
    for b in builds:
        wb = wrappers[b.name]
        o, lse = _with(b, lambda: wb.run(q, k, v, return_lse=True))()
        if first is None:
            first = (o, lse)
            rows = torch.tensor([0, 1, 17, min(n - 1, 1000), n - 1], device=q.device)
            err = (o[rows].float() - reference_rows(q, k, v, n, causal, scale, rows)).abs().max().item()
            if not err < atol:
                raise AssertionError(f"{b.name}: max |O - float32 reference| = {err:.3g} >= {atol}")
            diffs[b.name] = err
        else:
            do = (o.float() - first[0].float()).abs().max().item()
            dl = (lse - first[1]).abs().max().item()
            if not (do < atol and dl < 1e-2):
                raise AssertionError(f"{b.name}: max |O - {builds[0].name}| = {do:.3g}, |LSE diff| = {dl:.3g}")
            diffs[b.name] = do
        fns[b.name] = _with(b, lambda wb=wb: wb.run(q, k, v, out=out))
    if cudnn and uniform:  # SDPA has no ragged form
        from torch.nn.attention import SDPBackend, sdpa_kernel
        import torch.nn.functional as F

        qb, kb, vb = (t.view(batch, n, heads, hd).transpose(1, 2) for t in (q, k, v))

        def sdpa():
            with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
                F.scaled_dot_product_attention(qb, kb, vb, is_causal=causal)
        try:
            sdpa()
            fns["cuDNN"] = sdpa
        except Exception as e:  # no cuDNN backend: the A/B goes on without it
            print(f"(cuDNN SDPA unavailable: {e!r})")
    flops = sum(2 * visible_pairs(x, x, causal) * heads * 2 * hd for x in lens)
    tile_m = w._plan.spec.tile_m
    ctas = {name: f"{wb._plan.num_ctas} {wb._plan.schedule}"
            + (" split {}x{}".format(*wb._plan.split) if getattr(wb._plan, "split", None) else "")
            for name, wb in wrappers.items()}
    return fns, flops, diffs, tile_m, ctas


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--variant", action="append", required=True, help="name=artifact_dir (the first is the base)")
    p.add_argument("--cases", default=DEFAULT_CASES, help="comma list of BxN:hd:causal|full")
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--dtype", default="bf16", choices=sorted(DTYPES))
    p.add_argument("--no-cudnn", action="store_true")
    p.add_argument("--atol", type=float, default=2e-2, help="max |O| difference to the base / reference")
    p.add_argument("--env", action="append", default=[],
                   help="NAME:KEY=VAL[;KEY=VAL...]: build NAME's plan is made with these environment variables set")
    p.add_argument("--json")
    timing_arg(p)
    args = p.parse_args(argv)
    use_timing(args.timing)
    builds = [ArtifactBuild(*v.split("=", 1)) for v in args.variant]
    plan_env = parse_plan_env(args.env)
    base = builds[0].name
    rows = []
    for text in args.cases.split(","):
        lens, hd, causal = parse_case(text)
        fns, flops, diffs, tile_m, ctas = setup_case(lens, hd, causal, builds, DTYPES[args.dtype], not args.no_cudnn,
                                               args.atol, plan_env)
        per = compare(fns, rounds=max(1, args.rounds), rep_ms=100)
        row = {"case": text, "tile_m": tile_m, "ctas": ctas, "rounds_ms": per, "max_abs_diff": diffs}
        for name in fns:
            row[name] = flops / median(per[name]) / 1e9
            # median over rounds of the same-round time ratio: > 1 = faster than the base / cuDNN
            row[name + "/" + base] = median([a / x for a, x in zip(per[base], per[name])])
            if "cuDNN" in per:
                row[name + "/cuDNN"] = median([c / x for c, x in zip(per["cuDNN"], per[name])])
        rows.append(row)
        print(f"{text} (tile_m {tile_m}, CTAs {ctas}): " + "  ".join(
            f"{b.name} {row[b.name]:.1f} ({row[b.name + '/' + base]:.4f}x {base}"
            + (f", {row[b.name + '/cuDNN']:.3f}x cuDNN" if "cuDNN" in per else "")
            + f", |dO| {diffs[b.name]:.2g})" for b in builds)
            + (f"  cuDNN {row['cuDNN']:.1f}" if "cuDNN" in per else ""), flush=True)
    cols = ["case"] + [b.name for b in builds] + [f"{b.name}/{base}" for b in builds[1:]]
    cols += ["cuDNN"] if any("cuDNN" in r for r in rows) else []
    print(f"dense prefill A/B, {args.dtype}, heads * hd = 2048, TFLOP/s; {device_info()['device']}")
    table = [{c: (f"{r[c]:.4f}" if "/" in c and c in r else r.get(c, "")) for c in cols} for r in rows]
    print(markdown_table(table, cols))
    if args.json:
        write_json(args.json, {"env": device_info(), "variants": args.variant, "rows": rows})


if __name__ == "__main__":
    main()
