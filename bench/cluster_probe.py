"""Thread-block cluster co-residency on this GPU (session 14): for cluster sizes 1, 2, 4, 8, 16, how many clusters the
driver says fit (``cuOccupancyMaxActiveClusters``) with a given block size and dynamic shared memory, and whether a
launch of ``--ctas`` CTAs in such clusters actually runs them together (start-time spread of a kernel whose CTAs
spin ``--spin-us``: a cluster that must wait for another to finish starts about that much later).

    ptxas -arch=sm_90a bench/cluster_probe.ptx -o <dir>/cluster_probe.cubin        # on the CPU host
    python3 -m bench.cluster_probe --cubin <dir>/cluster_probe.cubin [--smem-kb 150] [--ctas 128]   # on the GPU

Driver API through ctypes (no cuda-python on the device); torch only makes the primary context current. The decode
kernel's 1 x 32k plan is 128 CTAs (8 kv heads x 16 parts) of ~145 KB of shared memory and 256 threads: a merge through
distributed shared memory needs each split's 16 parts in one cluster, i.e. 8 co-resident 16-CTA clusters.
"""

from __future__ import annotations

import argparse
import ctypes
import json

import torch

CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8
CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED = 14
CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION = 4


class LaunchAttribute(ctypes.Structure):
    _fields_ = [("id", ctypes.c_int), ("pad", ctypes.c_char * 4), ("x", ctypes.c_uint), ("y", ctypes.c_uint),
                ("z", ctypes.c_uint), ("rest", ctypes.c_char * 52)]


class LaunchConfig(ctypes.Structure):
    _fields_ = [("gridDimX", ctypes.c_uint), ("gridDimY", ctypes.c_uint), ("gridDimZ", ctypes.c_uint),
                ("blockDimX", ctypes.c_uint), ("blockDimY", ctypes.c_uint), ("blockDimZ", ctypes.c_uint),
                ("sharedMemBytes", ctypes.c_uint), ("hStream", ctypes.c_void_p),
                ("attrs", ctypes.POINTER(LaunchAttribute)), ("numAttrs", ctypes.c_uint)]


def check(rc, what):
    if rc:
        raise RuntimeError(f"{what} failed with CUresult {rc}")


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--cubin", required=True)
    p.add_argument("--smem-kb", type=int, default=150)
    p.add_argument("--threads", type=int, default=256)
    p.add_argument("--ctas", type=int, default=128)
    p.add_argument("--spin-us", type=float, default=50.0)
    p.add_argument("--sizes", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    args = p.parse_args(argv)
    torch.zeros(1, device="cuda")  # the primary context, current on this thread
    cu = ctypes.CDLL("libcuda.so.1")
    mod, fn = ctypes.c_void_p(), ctypes.c_void_p()
    data = open(args.cubin, "rb").read()
    check(cu.cuModuleLoadData(ctypes.byref(mod), ctypes.c_char_p(data)), "cuModuleLoadData")
    check(cu.cuModuleGetFunction(ctypes.byref(fn), mod, b"probe"), "cuModuleGetFunction")
    smem = args.smem_kb * 1024
    check(cu.cuFuncSetAttribute(fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, smem), "max dynamic smem")
    check(cu.cuFuncSetAttribute(fn, CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED, 1), "non-portable clusters")
    sms = torch.cuda.get_device_properties(0).multi_processor_count
    out = torch.zeros(args.ctas, 8, dtype=torch.int32, device="cuda")
    stream = torch.cuda.current_stream().cuda_stream
    for size in args.sizes:
        attr = LaunchAttribute(id=CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION, x=size, y=1, z=1)
        cfg = LaunchConfig(gridDimX=args.ctas, gridDimY=1, gridDimZ=1, blockDimX=args.threads, blockDimY=1,
                           blockDimZ=1, sharedMemBytes=smem, hStream=ctypes.c_void_p(stream),
                           attrs=ctypes.pointer(attr), numAttrs=1)
        n = ctypes.c_int(-1)
        rc_occ = cu.cuOccupancyMaxActiveClusters(ctypes.byref(n), fn, ctypes.byref(cfg))
        line = {"cluster": size, "smem_kb": args.smem_kb, "threads": args.threads, "sms": sms,
                "max_active_clusters": n.value if rc_occ == 0 else f"error {rc_occ}"}
        if args.ctas % size == 0:
            spins = []
            for rep in range(3):
                out.zero_()
                p_out = ctypes.c_uint64(out.data_ptr())
                p_spin = ctypes.c_uint64(int(args.spin_us * 1000))
                params = (ctypes.c_void_p * 2)(ctypes.cast(ctypes.byref(p_out), ctypes.c_void_p),
                                               ctypes.cast(ctypes.byref(p_spin), ctypes.c_void_p))
                rc = cu.cuLaunchKernelEx(ctypes.byref(cfg), fn, params, None)
                if rc:
                    line["launch"] = f"error {rc}"
                    break
                torch.cuda.synchronize()
                t = out[:, :2].contiguous().view(torch.int64)[:, 0].cpu()
                start = (t - t.min()).double() / 1000.0  # us after the first CTA
                spins.append(start)
            if spins:
                s = spins[-1]
                late = int((s > args.spin_us / 2).sum())
                sm_ids = out[:, 2].cpu()
                line.update({"start_spread_us": round(float(s.max()), 2), "ctas_started_late": late,
                             "distinct_sms": int(sm_ids.unique().numel()),
                             "spread_per_rep_us": [round(float(x.max()), 2) for x in spins]})
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
