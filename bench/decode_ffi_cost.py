"""Host cost of a TVM-FFI call into a CuTe DSL export, per argument kind: the decode launch's 11 tensors
against 5 tensors + 6 raw addresses (kernels/decode_sm90.py ``PTR_ARGS``), on do-nothing jit functions (no
kernel, no launch), so only the argument conversion and the export's signature checks are timed.

    python -m bench.decode_ffi_cost --build DIR    # here (needs the DSL compiler, no GPU): 4 libraries into DIR
    python -m bench.decode_ffi_cost DIR [--device cuda|cpu] [--reps 20000]   # anywhere with tvm_ffi + torch

The ``cuda`` libraries declare GPU tensors (what the decode export checks: device type cuda), the ``cpu`` ones
host tensors (the only kind a machine without a GPU can pass). Each line: min / median us per call, the
variants interleaved over rounds. Also times ``testing.nop`` of tvm_ffi with the same arguments (conversion
without any signature check).
"""

# (no `from __future__ import annotations`: the DSL evaluates the jit functions' annotations, which name the
# locally imported cute module)
import argparse
import os
import sys
import time

VARIANTS = ("t11", "t5p6")


def build(directory: str) -> None:
    os.environ.setdefault("CUTE_DSL_ARCH", "sm_90a")
    import cutlass
    import cutlass.cute as cute
    from cutlass import Float32, Int32

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from cute_attn.artifacts import link_compiled

    @cute.jit
    def t11(a0: cute.Tensor, a1: cute.Tensor, a2: cute.Tensor, a3: cute.Tensor, a4: cute.Tensor, a5: cute.Tensor,
            a6: cute.Tensor, a7: cute.Tensor, a8: cute.Tensor, a9: cute.Tensor, a10: cute.Tensor, n: Int32,
            s: Float32):
        pass

    @cute.jit
    def t5p6(a0: cute.Tensor, a1: cute.Tensor, a2: cute.Tensor, p3: cute.Pointer, p4: cute.Pointer,
             p5: cute.Pointer, a6: cute.Tensor, a7: cute.Tensor, p8: cute.Pointer, p9: cute.Pointer,
             p10: cute.Pointer, c: Int32, t: Int32, n: Int32, s: Float32):
        pass

    os.makedirs(directory, exist_ok=True)
    opts = "--enable-tvm-ffi --gpu-arch sm_90a"
    ptr = lambda: cute.runtime.make_ptr(cutlass.Int32, 0, cute.AddressSpace.gmem, assumed_align=16)  # noqa: E731
    for dev, space in (("cuda", cute.AddressSpace.gmem), ("cpu", cute.AddressSpace.generic)):
        def fake():
            return cute.runtime.make_fake_compact_tensor(cutlass.Int32, (cute.sym_int(), 12), stride_order=(1, 0),
                                                         assumed_align=16, memspace=space)

        compiled = {
            "t11": cute.compile(t11, *[fake() for _ in range(11)], Int32(1), Float32(1.0), options=opts),
            "t5p6": cute.compile(t5p6, fake(), fake(), fake(), ptr(), ptr(), ptr(), fake(), fake(), ptr(), ptr(),
                                 ptr(), Int32(1), Int32(1), Int32(1), Float32(1.0), options=opts),
        }
        for name, c in compiled.items():
            sym = f"ffi_{name}_{dev}"
            so = link_compiled(c, directory, sym)
            print("built", so)


def run(directory: str, device: str, reps: int, rounds: int = 4) -> dict:
    import torch

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from cute_attn.artifacts import _load_library

    import tvm_ffi

    ts = [torch.zeros(8, 12, dtype=torch.int32, device=device) for _ in range(11)]
    ps = [t.data_ptr() for t in ts]
    a11 = ts + [1, 0.5]
    a5 = ts[:3] + ps[3:6] + ts[6:8] + ps[8:11] + [1, 1, 1, 0.5]
    fns = {}
    for name, args in (("t11", a11), ("t5p6", a5)):
        fn = _load_library(os.path.join(directory, f"ffi_{name}_{device}.so"), f"ffi_{name}_{device}")
        fn(*args)
        fns[f"export {name}"] = (fn, args)
    nop = tvm_ffi.get_global_func("testing.nop", allow_missing=True)
    if nop is not None:
        fns["nop t11"] = (nop, a11)
        fns["nop t5p6"] = (nop, a5)
        fns["nop ()"] = (nop, [])
    samples = {k: [] for k in fns}
    pc = time.perf_counter
    names = list(fns)
    for r in range(rounds):
        for k in (names if r % 2 == 0 else names[::-1]):
            fn, args = fns[k]
            out = samples[k]
            for _ in range(reps):
                t0 = pc()
                fn(*args)
                out.append(pc() - t0)
    res = {}
    for k, v in samples.items():
        v.sort()
        res[k] = (v[0] * 1e6, v[len(v) // 2] * 1e6)
        print(f"{device} {k:14s} {res[k][0]:6.2f} / {res[k][1]:6.2f} us (min / median)")
    return res


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("dir", nargs="?")
    p.add_argument("--build")
    p.add_argument("--device", default=None)
    p.add_argument("--reps", type=int, default=20000)
    args = p.parse_args(argv)
    if args.build:
        build(args.build)
        return
    import torch

    run(args.dir, args.device or ("cuda" if torch.cuda.is_available() else "cpu"), args.reps)


if __name__ == "__main__":
    main()
