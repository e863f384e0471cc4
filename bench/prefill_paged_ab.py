"""A/B of paged prefill builds in ONE process: the same cases, page tables and data as bench.prefill_paged, each
page size timed once per build, all side by side (bench.common.compare: warm-up, interleaved rounds of alternating
order), against the dense kernel of the running checkout.

    python -m bench.prefill_paged_ab --variant a=/path/a/build/artifacts/sm_90a --variant b=... [--rounds 6]
        [--pages 1,16,64] [--dense-variant c=/path/c/...] [--json out.json]
    ncu --clock-control none --nvtx --nvtx-include "a_page1/" ... python -m bench.prefill_paged_ab \
        --variant a=... --variant b=... --profile        # one launch each, 4 x 4k, NVTX range <variant>_page<N>

A build is an artifact directory (``python -m cute_attn.build --out DIR``); its paged kernels are loaded from
there, whatever the running checkout's sources are (the manifest's source hash is not checked), so two builds of
one source with different switches compare directly. ``--dense-variant`` times the dense kernel of another build too
(column ``dense_<name>``; a switch that changes the consumers, e.g. ``CUTE_ATTN_PREFILL_SET``, changes both kernels,
and the paged figure is then read against its own dense). Every paged variant's output is checked bitwise against
the checkout's dense output or, failing that, against one of the dense variants' (the one it equals is printed).
The kernels each variant ran are printed and kept in the JSON. ``--mask full`` runs the same cases without the causal
mask; where the dense kernel then runs another tile (hd128's 192-row rows), the first paged build is checked against it
to bf16 rounding (2e-2) and every other build bitwise against the first.
"""

from __future__ import annotations

import argparse
import importlib

import torch

import cute_attn
import cute_attn.prefill_paged as _pp

from .common import (ArtifactBuild, compare, device_info, markdown_table, median, profile_launch, route_get_kernel,
                     timing_arg, use_timing, write_json)
from .prefill_paged import CASES, dense_case, paged_copy


class _Build(ArtifactBuild):
    """The paged kernels of one artifact directory."""

    def loaded(self, spec) -> None:
        print(f"{self.name}: {spec.name}", flush=True)


_with = route_get_kernel(_pp)
_with_dense = route_get_kernel(importlib.import_module("cute_attn.prefill"))  # (cute_attn.prefill is the function)


def dense_tile_differs(d: int, causal: bool) -> bool:
    """Whether the dense kernel's tile differs from the paged kernel's at this head dim and mask (a dense-only row of
    the config table, e.g. hd128's 192-row tiles), so that their outputs are equal only to rounding."""
    from cute_attn.kernels.common.config import prefill_config

    dense, paged = prefill_config(d, d, causal), prefill_config(d, d, causal, paged=True)
    return (dense.tile_m, dense.tile_n) != (paged.tile_m, paged.tile_n)


def _check_output(name, ps, got, refs, ref, first, causal, d, rounding=False):
    """Raise unless ``got`` equals one of the dense outputs ``refs`` bitwise (or the first checked paged build's, or,
    where the dense kernel runs another tile, the dense output to bf16 rounding for the first build); returns the
    (name, output) of the first checked build."""
    equal = [n for n, r in refs.items() if torch.equal(got, r)]
    if not equal and first is not None and torch.equal(got, first[1]):
        equal = [first[0]]
    if not equal and (rounding or dense_tile_differs(d, causal)):
        # the dense kernel runs another tile here (another key-block order): not the same bits, so the first
        # paged build is checked against it to bf16 rounding and the others bitwise against the first
        diff = (got.float() - ref.float()).abs().max().item()
        if first is not None or diff > 2e-2:
            raise AssertionError(f"{name} page {ps}: max |paged - dense| {diff:.3g}, not bitwise equal to "
                                 f"{first[0] if first else 'any build'}")
        equal = [f"dense to {diff:.2g}"]
    if not equal:
        raise AssertionError(f"{name} page {ps} differs from every dense output ({', '.join(refs)})")
    if equal[0] != "dense":
        print(f"{name} page {ps}: equal to {equal[0]}", flush=True)
    return (name, got) if first is None else first


def setup_case(q_lens, kv_lens, builds, page_sizes, heads=16, d=128, causal=True, dtype=torch.bfloat16,
               dense_builds=(), unchecked=(), rounding=False):
    gen = torch.Generator().manual_seed(0)
    qo, q, k, v, out, ref, fns, flops = dense_case(q_lens, kv_lens, heads, d, causal, dtype)
    refs = {"dense": ref}
    if dense_builds:
        kv = [0] + torch.tensor(kv_lens).cumsum(0).tolist()
        dw = cute_attn.BatchPrefillWithRaggedKVCacheWrapper()
        dw.plan(qo, kv, heads, heads, d, causal=causal, q_data_type=dtype)
        for b in dense_builds:
            refs[f"dense_{b.name}"] = _with_dense(b, lambda: dw.run(q, k, v))()
            fns[f"dense_{b.name}"] = _with_dense(b, lambda: dw.run(q, k, v, out=out))
    for ps in page_sizes:
        cache, indptr, ids, last = paged_copy(k, v, kv_lens, ps, gen, True)
        w = cute_attn.BatchPrefillWithPagedKVCacheWrapper()
        w.plan(qo, indptr, ids, last, heads, heads, d, ps, causal=causal, q_data_type=dtype)
        first = None
        for b in builds:
            got = _with(b, lambda w=w, cache=cache: w.run(q, cache))()
            if b.name in unchecked:
                # a build that skips work by construction (an upper-bound diagnostic): timed, not checked
                diff = (got.float() - ref.float()).abs().max().item()
                print(f"{b.name} page {ps}: UNCHECKED (wrong by construction), max |paged - dense| {diff:.3g}", flush=True)
            else:
                first = _check_output(b.name, ps, got, refs, ref, first, causal, d, rounding)
            fns[f"{b.name}_page{ps}"] = _with(b, lambda w=w, cache=cache: w.run(q, cache, out=out))
    return fns, flops


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--variant", action="append", required=True, help="name=artifact_dir")
    p.add_argument("--dense-variant", action="append", default=[],
                   help="name=artifact_dir: the dense kernel of that build too (column dense_<name>)")
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--pages", default="1,16,64")
    p.add_argument("--cases", default="0,1,2", help="indices into bench.prefill_paged.CASES")
    p.add_argument("--head-dim", type=int, default=128, help="head dim of every case (16 heads)")
    p.add_argument("--mask", choices=("causal", "full"), default="causal",
                   help="full: the same cases without the causal mask (FLOPs counted in full)")
    p.add_argument("--unchecked", action="append", default=[],
                   help="variant name whose output is not checked (a diagnostic build that skips work: wrong by design)")
    p.add_argument("--rounding", action="store_true",
                   help="check the first build against dense to bf16 rounding and the others bitwise against it "
                        "(configurations whose paged kernel is not the dense one's bits, e.g. hd64 causal)")
    p.add_argument("--json")
    timing_arg(p)
    p.add_argument("--profile", action="store_true", help="one launch per kernel in NVTX ranges (ncu), 4 x 4k")
    args = p.parse_args(argv)
    use_timing(args.timing)
    builds = [_Build(*v.split("=", 1)) for v in args.variant]
    dense_builds = [_Build(*v.split("=", 1)) for v in args.dense_variant]
    page_sizes = [int(x) for x in args.pages.split(",")]
    causal = args.mask == "causal"
    if args.profile:
        fns, _ = setup_case([4096] * 4, [4096] * 4, builds, page_sizes, d=args.head_dim, causal=causal,
                            dense_builds=dense_builds)
        for name, fn in fns.items():
            profile_launch(name, name, fn)
        return
    rows = []
    for ci in (int(x) for x in args.cases.split(",")):
        name, q_lens, kv_lens = CASES[ci]
        fns, flops = setup_case(q_lens, kv_lens, builds, page_sizes, d=args.head_dim, causal=causal,
                                dense_builds=dense_builds, unchecked=args.unchecked, rounding=args.rounding)
        per = compare(fns, rounds=max(1, args.rounds), rep_ms=100)
        row = {"case": name, "rounds_ms": per, "dense": flops / median(per["dense"]) / 1e9}
        for db in dense_builds:
            key = f"dense_{db.name}"
            row[key] = flops / median(per[key]) / 1e9
            row[key + "/dense"] = median([d / x for d, x in zip(per["dense"], per[key])])
        for ps in page_sizes:
            for b in builds:
                key = f"{b.name}_page{ps}"
                row[key] = flops / median(per[key]) / 1e9
                # median over rounds of the same-round time ratio to dense, and to the first build
                row[key + "/dense"] = median([d / x for d, x in zip(per["dense"], per[key])])
                base = f"{builds[0].name}_page{ps}"
                row[key + "/" + builds[0].name] = median([a / x for a, x in zip(per[base], per[key])])
                for db in dense_builds:  # and to each dense variant
                    dk = f"dense_{db.name}"
                    row[key + "/" + dk] = median([d / x for d, x in zip(per[dk], per[key])])
        rows.append(row)
        print(name, "dense %.1f" % row["dense"], "  ".join(
            "dense_%s %.1f (%.3fx dense)" % (db.name, row[f"dense_{db.name}"], row[f"dense_{db.name}/dense"])
            for db in dense_builds), flush=True)
        for ps in page_sizes:
            print("  page %3d " % ps + "  ".join(
                "%s %.1f (%.3fx dense, %.4fx %s)" % (b.name, row[f"{b.name}_page{ps}"], row[f"{b.name}_page{ps}/dense"],
                                                      row[f"{b.name}_page{ps}/{builds[0].name}"], builds[0].name)
                for b in builds), flush=True)
            for db in dense_builds:
                print("           x dense_%s: " % db.name + "  ".join(
                    "%s %.3f" % (b.name, row[f"{b.name}_page{ps}/dense_{db.name}"]) for b in builds), flush=True)
    cols = (["case", "dense"] + [f"dense_{db.name}" for db in dense_builds]
            + [f"{b.name}_page{ps}" for ps in page_sizes for b in builds])
    print(f"paged prefill A/B, hd{args.head_dim} {args.mask} bf16, TFLOP/s; {device_info()['device']}")
    print(markdown_table(rows, cols))
    if args.json:
        write_json(args.json, {"env": device_info(), "variants": args.variant, "rows": rows,
                               "dense_variants": args.dense_variant,
                               "kernels": {b.name: b.kernels for b in builds + dense_builds}})


if __name__ == "__main__":
    main()
