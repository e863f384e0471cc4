"""Host time of the decode wrapper's plan() and run(), and of their parts, on this machine: CPU or GPU.

    python -m bench.decode_host [--reps 2000] [--rounds 4] [--device cpu|cuda] [--ref DIR] [--json out.json]

Every timed function runs ``reps`` times per round (each call timed alone with ``perf_counter``), the
functions in alternating order over ``rounds`` rounds (A B C, C B A, ...), so a slow phase of a shared
machine falls on all of them; each line reports min and median over all its calls, in us.

plan() case: bench.decode's batch 256 (1..8k rows per request, page 16, 32 q / 8 kv heads, head_dim 128,
CPU int32 page table, 65k page ids). Parts:
- ``plan``: the whole call (compiled planner when built);
- ``plan_no_zero``: the same without the memset that invalidates the kernel's first-tile page-id cache (session 22);
- ``plan_py``: the same with the C call replaced by a Python stub (the argument block keeps the last
  real call's results): the Python around the planner;
- ``c_call`` / ``c_call_no_ids``: ``decode_plan_packed`` alone through ctypes, with / without the page-id
  pass, on the wrapper's own buffers;
- ``plan_numpy``: the numpy planner (fewer calls).
On a CPU wrapper (``--device cpu``) plan() skips the copy to the GPU and its event; ``plan_gpu_path``
then runs the GPU path of ``_commit`` with the copy and the event replaced by no-ops (what plan() adds
on a GPU host besides the driver calls).

run(): on a GPU, the real call on a tiny problem (no sync in between); on a CPU wrapper, run() with the
launch stubbed (``run_py``: the Python part only; the kernel call is a Python no-op).

``--ref DIR``: also time another tree's package (``DIR/cute_attn``, with its compiled planner in
``DIR/build/artifacts/sm_90a``), loaded in the same process as ``cute_attn_ref``; its lines are prefixed
``ref:`` and its calls interleave with this tree's (a before/after in one process: a shared machine's speed
moves by up to ~1.5x between processes, less within one). On a GPU both trees' kernels must differ in their
exported symbols: session 17's call 6 ran a tree whose sort kernel changed its arguments beside one that had not, and the
process called the first library loaded under the shared name (a TypeError); run such trees in alternating processes.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
import types

import torch

import cute_attn

HQ, HK, D = 32, 8, 128


def timed(fns: dict, reps: int, rounds: int) -> dict:
    """{name: (min us, median us)} over rounds x reps calls, the functions in alternating order per round."""
    names = list(fns)
    samples = {n: [] for n in names}
    pc = time.perf_counter
    for r in range(rounds):
        for n in (names if r % 2 == 0 else names[::-1]):
            fn, out = fns[n], samples[n]
            for _ in range(reps if not n.endswith("numpy") else max(reps // 20, 10)):
                t0 = pc()
                fn()
                out.append(pc() - t0)
    res = {}
    for n, ts in samples.items():
        ts.sort()
        res[n] = (ts[0] * 1e6, ts[len(ts) // 2] * 1e6)
    return res


def plan_case(batch=256, page_size=16):
    gen = torch.Generator().manual_seed(0)
    kv_lens = torch.randint(1, 8192, (batch,), generator=gen).tolist()
    pages_per = [(n + page_size - 1) // page_size for n in kv_lens]
    indptr = torch.tensor([0] + torch.tensor(pages_per).cumsum(0).tolist(), dtype=torch.int32)
    indices = torch.arange(int(indptr[-1]), dtype=torch.int32)
    last = torch.tensor([(n - 1) % page_size + 1 for n in kv_lens], dtype=torch.int32)
    return indptr, indices, last, page_size


class _FakeCuda:
    type = "cuda"


class _StubPlanner:
    """The compiled planner with its C call replaced by a Python no-op (the block keeps the last results)."""

    def __init__(self, lib):
        self.lib = lib

    @staticmethod
    def decode_plan_packed(args):
        return 0


def load_ref(root: str):
    """Another tree's cute_attn package, imported as ``cute_attn_ref`` (its relative imports stay inside it)."""
    pkg = os.path.join(os.path.abspath(root), "cute_attn")
    spec = importlib.util.spec_from_file_location("cute_attn_ref", os.path.join(pkg, "__init__.py"),
                                                  submodule_search_locations=[pkg])
    mod = importlib.util.module_from_spec(spec)
    sys.modules["cute_attn_ref"] = mod
    spec.loader.exec_module(mod)
    importlib.import_module("cute_attn_ref.decode")
    return mod


def plan_parts(device: str, pkg=cute_attn) -> dict:
    """The timed functions of plan() and its parts for package ``pkg``."""
    dec = pkg.decode
    cute_attn = pkg
    indptr, indices, last, ps = plan_case()
    lib = dec.compiled_planner()
    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(device=device)
    w.plan(indptr, indices, last, HQ, HK, D, ps)
    fns = {"plan": lambda: w.plan(indptr, indices, last, HQ, HK, D, ps)}
    if hasattr(w._sched, "zero_tail"):  # session 22: plan() without the first-tile id cache's invalidation (a memset)
        w_nz = cute_attn.BatchDecodeWithPagedKVCacheWrapper(device=device)
        w_nz.plan(indptr, indices, last, HQ, HK, D, ps)
        w_nz._sched.zero_tail = lambda t, n: None
        fns["plan_no_zero"] = lambda: w_nz.plan(indptr, indices, last, HQ, HK, D, ps)
    if lib is not None:
        stub = _StubPlanner(lib)
        w_py = cute_attn.BatchDecodeWithPagedKVCacheWrapper(device=device)
        w_py.plan(indptr, indices, last, HQ, HK, D, ps)  # real call first: the block holds real results

        def plan_py():
            dec._PLANNER[0] = stub
            try:
                w_py.plan(indptr, indices, last, HQ, HK, D, ps)
            finally:
                dec._PLANNER[0] = lib

        fns["plan_py"] = plan_py
        if hasattr(dec, "ARG_LEN"):
            args = w._sched.args
            no_ids = (type(args))()
            no_ids[:] = args[:]
            no_ids[dec.ARG_INDICES] = no_ids[dec.ARG_INDICES_OUT] = 0
            fns["c_call"] = lambda: lib.decode_plan_packed(args)
            fns["c_call_no_ids"] = lambda: lib.decode_plan_packed(no_ids)
        else:  # the tree before the argument block (plan ABI 1): the 20-argument call
            stub.decode_plan = lambda *a: 0
            s = w._sched
            p_items, p_cta, p_idx, p_scratch, p_info = s.ptrs
            a20 = (indptr.data_ptr(), last.data_ptr(), len(last), ps, indices.data_ptr(), len(indices), p_idx,
                   s.idx_cap, HQ, HK, D, 2, dec.DEFAULT_NUM_SMS if device == "cpu" else dec._num_sms(w.device),
                   p_items, s.item_cap, p_cta, s.cta_cap, p_scratch, len(s.scratch), p_info)
            no_ids = a20[:4] + (None, a20[5], None) + a20[7:]
            fns["c_call"] = lambda: lib.decode_plan(*a20)
            fns["c_call_no_ids"] = lambda: lib.decode_plan(*no_ids)
    if device == "cpu":
        w_gpu = cute_attn.BatchDecodeWithPagedKVCacheWrapper(device="cpu")
        w_gpu.plan(indptr, indices, last, HQ, HK, D, ps)
        w_gpu._plan.kernel = object()  # as after a run(): the plan carries the checks over
        w_gpu._on_gpu = True  # _commit's GPU path on CPU buffers, the copy and the event no-ops
        fake = _FakeCuda()  # (a tree whose _commit tests device.type)
        dec._SM_COUNT[fake] = dec.DEFAULT_NUM_SMS
        w_gpu.device = fake
        w_gpu._tmp_bufs = (torch.empty(8192, D), torch.empty(8192))
        # (with room for the first-tile page-id cache: session 22)
        w_gpu._counters = torch.zeros(dec.DEFAULT_NUM_SMS * (1 + getattr(dec, "FIRST_IDS_CAP", 0)), dtype=torch.int32)
        w_gpu._sched.send = lambda n: None
        w_gpu._sched.record = lambda: None
        launch_sort = getattr(dec, "_launch_sort", None)

        def plan_gpu_path():
            # the sort kernel (session 12 on: plan(sort_pages=True), the default) cannot launch on CPU tensors: a
            # no-op in its place, as the copy and the event (what is timed is the host's work around them)
            if launch_sort is not None:
                dec._launch_sort = lambda *a: None
            try:
                w_gpu.plan(indptr, indices, last, HQ, HK, D, ps)
            finally:
                if launch_sort is not None:
                    dec._launch_sort = launch_sort

        fns["plan_gpu_path"] = plan_gpu_path

    saved = dec._PLANNER[:]

    def plan_numpy():
        dec._PLANNER[:] = [None]
        try:
            w.plan(indptr, indices, last, HQ, HK, D, ps)
        finally:
            dec._PLANNER[:] = saved

    fns["plan_numpy"] = plan_numpy
    if not dec._PLANNER:
        dec._PLANNER.append(lib)
    return fns


def run_parts(device: str, pkg=cute_attn) -> dict:
    """The timed functions of run() (CPU: its Python part) for package ``pkg``."""
    cute_attn = pkg
    dec = pkg.decode
    indptr, indices, last = (torch.tensor([0, 4], dtype=torch.int32), torch.arange(4, dtype=torch.int32),
                             torch.tensor([16], dtype=torch.int32))
    dtype = torch.bfloat16
    q = torch.randn(1, HQ, D, dtype=dtype, device=device)
    out = torch.empty_like(q)
    cache = torch.randn(4, 2, 16, HK, D, dtype=dtype, device=device)
    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(device=device)
    w.plan(indptr, indices, last, HQ, HK, D, 16)
    if device == "cpu":  # the Python part only: the device checks and the launch stubbed
        # the device test against -1 (a CPU tensor's device): decode._current_device, or in a tree
        # before it, torch.cuda.current_device
        owner, attr = (dec, "_current_device") if hasattr(dec, "_current_device") else (torch.cuda, "current_device")
        w._check_run = types.MethodType(lambda self, plan, q, k, v, out: (False,) * 4, w)
        w._plan.kernel = lambda *args: None
        real = getattr(owner, attr)
        setattr(owner, attr, lambda: -1)
        w.run(q, cache, out=out)
        setattr(owner, attr, real)

        def stubbed(fn):
            def call():
                setattr(owner, attr, lambda: -1)
                try:
                    fn()
                finally:
                    setattr(owner, attr, real)
            return call

        # (the swap of the device function adds ~0.1 us to both lines)
        return {"run_py": stubbed(lambda: w.run(q, cache, out=out)), "run_py_no_out": stubbed(lambda: w.run(q, cache))}
    w.run(q, cache, out=out)
    torch.cuda.synchronize()
    return {"run": lambda: w.run(q, cache, out=out)}


def run_abi_parts(tagged: str) -> dict:
    """run() on the GPU with the bf16 hd128 kernel of each launch ABI, in one process: ``tensor`` (main's 11
    tensors) and ``ptr`` (``CUTE_ATTN_DECODE_PTR_ARGS=1``: 5 tensors + 6 addresses), both built by
    bench/decode_build_tagged.py into ``tagged`` (tags ``tensor`` and ``ptr``). Both calls set
    ``decode._PTR_ARGS`` around run() (the same ~0.1 us on each). Checks first that both give the same output."""
    from cute_attn.artifacts import _load_library

    dec = cute_attn.decode
    name = dec._decode_spec(torch.bfloat16, D).name
    kernels = {tag: _load_library(os.path.join(tagged, f"{name}__{tag}.so"), f"{name}__{tag}")
               for tag in ("tensor", "ptr")}
    indptr, indices, last = (torch.tensor([0, 4], dtype=torch.int32), torch.arange(4, dtype=torch.int32),
                             torch.tensor([16], dtype=torch.int32))
    q = torch.randn(1, HQ, D, dtype=torch.bfloat16, device="cuda")
    cache = torch.randn(4, 2, 16, HK, D, dtype=torch.bfloat16, device="cuda")
    fns, outs = {}, {}
    saved = dec._PTR_ARGS
    for tag, kernel in kernels.items():
        ptr = tag == "ptr"
        out = torch.empty_like(q)
        w = cute_attn.BatchDecodeWithPagedKVCacheWrapper()
        dec._PTR_ARGS = ptr
        try:
            w.plan(indptr, indices, last, HQ, HK, D, 16)
            w._plan.kernel = kernel  # (run()'s first check keeps a kernel already bound)
            w.run(q, cache, out=out)
        finally:
            dec._PTR_ARGS = saved
        outs[tag] = out

        def call(w=w, out=out, ptr=ptr):
            dec._PTR_ARGS = ptr
            try:
                w.run(q, cache, out=out)
            finally:
                dec._PTR_ARGS = saved

        fns[f"run_{tag}_abi"] = call
    torch.cuda.synchronize()
    diff = (outs["tensor"].float() - outs["ptr"].float()).abs().max().item()
    print(f"run ABI A/B: max |out(tensor) - out(ptr)| = {diff}")
    if diff != 0.0:
        raise SystemExit("the two launch ABIs disagree")
    return fns


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--reps", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--ref", help="another tree's root: its package is timed too, in this process")
    p.add_argument("--tagged", help="dir of bench/decode_build_tagged.py builds 'tensor' and 'ptr' (GPU: run() A/B)")
    p.add_argument("--json")
    args = p.parse_args(argv)
    pkgs = {"": cute_attn}
    if args.ref:
        pkgs = {"ref:": load_ref(args.ref), "": cute_attn}
    fns = {}
    res = {"device": args.device}
    for prefix, pkg in pkgs.items():
        res[f"{prefix}planner"] = str(getattr(pkg.decode.compiled_planner(), "_name", None))
        fns.update({prefix + k: v for k, v in plan_parts(args.device, pkg).items()})
        fns.update({prefix + k: v for k, v in run_parts(args.device, pkg).items()})
    if args.tagged and args.device == "cuda":
        fns.update(run_abi_parts(args.tagged))
    res.update(timed(fns, args.reps, args.rounds))
    if args.device == "cuda":
        torch.cuda.synchronize()
    for k, v in res.items():
        print(f"{k:20s} {v[0]:8.2f} / {v[1]:8.2f} us (min / median)" if isinstance(v, tuple) else f"{k:20s} {v}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
