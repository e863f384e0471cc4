"""Which SMs a grid of one-CTA-per-SM blocks lands on (session 24: CUDA-graph mode launches the SM count, 132, where an
eager plan of 128 CTAs launches 128, and the same 128 CTAs of work run 1-1.6 % slower there). Launches
``bench/cluster_probe.ptx`` (thread 0 stores its SM id; every thread spins ``--spin-us``) with ``--smem-kb`` of dynamic
shared memory (one CTA per SM, as the decode kernel's ~145 KB) for each grid of ``--grids``, three times each, and
prints per grid the SM of every CTA, whether the placement repeats, and how the SMs left idle compare with those of the
largest grid's tail.

    ptxas -arch=sm_90a bench/cluster_probe.ptx -o <dir>/cluster_probe.cubin        # on the CPU host
    python3 -m bench.placement_probe --cubin <dir>/cluster_probe.cubin [--grids 126 128 130 132] [--json F]
"""

from __future__ import annotations

import argparse
import ctypes
import json

import torch

from .cluster_probe import CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, check


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--cubin", required=True)
    p.add_argument("--smem-kb", type=int, default=150)
    p.add_argument("--threads", type=int, default=256)
    p.add_argument("--grids", type=int, nargs="+", default=[126, 128, 130, 132])
    p.add_argument("--spin-us", type=float, default=20.0)
    p.add_argument("--json")
    args = p.parse_args(argv)
    torch.zeros(1, device="cuda")
    cu = ctypes.CDLL("libcuda.so.1")
    mod, fn = ctypes.c_void_p(), ctypes.c_void_p()
    check(cu.cuModuleLoadData(ctypes.byref(mod), ctypes.c_char_p(open(args.cubin, "rb").read())), "cuModuleLoadData")
    check(cu.cuModuleGetFunction(ctypes.byref(fn), mod, b"probe"), "cuModuleGetFunction")
    smem = args.smem_kb * 1024
    check(cu.cuFuncSetAttribute(fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, smem), "max dynamic smem")
    sms = torch.cuda.get_device_properties(0).multi_processor_count
    stream = ctypes.c_void_p(torch.cuda.current_stream().cuda_stream)
    result = {"sms": sms, "smem_kb": args.smem_kb, "grids": {}}
    for grid in args.grids:
        out = torch.zeros(grid, 8, dtype=torch.int32, device="cuda")
        reps = []
        for _ in range(3):
            out.zero_()
            p_out, p_spin = ctypes.c_uint64(out.data_ptr()), ctypes.c_uint64(int(args.spin_us * 1000))
            params = (ctypes.c_void_p * 2)(ctypes.cast(ctypes.byref(p_out), ctypes.c_void_p),
                                           ctypes.cast(ctypes.byref(p_spin), ctypes.c_void_p))
            check(cu.cuLaunchKernel(fn, grid, 1, 1, args.threads, 1, 1, smem, stream, params, None), "launch")
            torch.cuda.synchronize()
            reps.append(out[:, 2].cpu().tolist())
        result["grids"][grid] = {"sm_of_cta": reps[0], "repeats": all(r == reps[0] for r in reps),
                                 "distinct": len(set(reps[0]))}
    big = max(args.grids)
    full = result["grids"][big]["sm_of_cta"]
    for grid in args.grids:
        g = result["grids"][grid]
        idle = sorted(set(range(sms)) - set(g["sm_of_cta"]))
        g["idle_sms"] = idle
        g["prefix_of_largest"] = g["sm_of_cta"] == full[:grid]
        g["largest_tail_sms"] = sorted(full[grid:])
        print(json.dumps({"grid": grid, "repeats": g["repeats"], "distinct": g["distinct"], "idle_sms": idle,
                          "prefix_of_largest": g["prefix_of_largest"], "largest_tail_sms": g["largest_tail_sms"]}))
    print(json.dumps({"sm_of_cta": {k: v["sm_of_cta"] for k, v in result["grids"].items()}}))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f)


if __name__ == "__main__":
    main()
