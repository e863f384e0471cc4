"""Compile prefill variants on this (CPU) machine into one shared library for the GPU check.

    python -m bench.prefill_build_local [--out build/prefill_dev] [--only bf16_hd128] [--keep-ptx]
    python -m bench.prefill_build_local --append --only bf16_hd128 --tag nopp --set pingpong=0

A/B builds: ``--tag T --set field=value,...`` compiles the variants with those ``PrefillConfig`` overrides
under the symbols ``<name>__T``; ``--append`` links them into the same library as the variants already
built there (``manifest.json`` keeps every symbol and its tile_m, which the GPU check's host plan uses).

Each variant is compiled for sm_90a in a fresh process (one at a time), exported as
``<out>/<name>.o`` with symbol ``<name>`` (``prefill_{dtype}_hd{d}_hdv{dv}_{causal|nocausal}``), then
all objects are linked into ``<out>/prefill_dev.so`` against ``libcute_dsl_runtime`` and ``libtvm_ffi``;
``manifest.json`` lists the symbols. Copy the folder to the GPU host and run
``bench/prefill_gpu_check.py --lib <out>/prefill_dev.so``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEAD_DIMS = ((64, 64), (128, 128), (256, 256), (192, 128))
DTYPES = ("bf16", "fp16")


def variant_name(dtype: str, hd: int, hdv: int, causal: bool) -> str:
    return f"prefill_{dtype}_hd{hd}_hdv{hdv}_{'causal' if causal else 'nocausal'}"


def all_variants():
    for dtype in DTYPES:
        for hd, hdv in HEAD_DIMS:
            for causal in (False, True):
                yield dtype, hd, hdv, causal


def tagged(name: str, tag: str) -> str:
    return f"{name}__{tag}" if tag else name


def compile_one(dtype: str, hd: int, hdv: int, causal: bool, out: str, keep_ptx: bool, tag: str = "",
                overrides: str = "") -> None:
    """Runs in a child process: compile one variant and export its object file."""
    os.environ["CUTE_DSL_ARCH"] = "sm_90a"
    name = tagged(variant_name(dtype, hd, hdv, causal), tag)
    if keep_ptx:
        os.environ["CUTE_DSL_KEEP"] = "ptx"
        os.environ["CUTE_DSL_DUMP_DIR"] = os.path.join(out, "ptx", name)
        os.makedirs(os.environ["CUTE_DSL_DUMP_DIR"], exist_ok=True)
    sys.path.insert(0, ROOT)
    import types

    from cute_attn.kernels.common import config
    from cute_attn.kernels.prefill_sm90 import compile_prefill

    config.set_prefill_overrides(config.parse_overrides(overrides))
    spec = types.SimpleNamespace(dtype=dtype, head_dim=hd, head_dim_v=hdv, causal=causal, tile_m=0)
    t0 = time.time()
    compiled = compile_prefill(spec)
    t1 = time.time()
    compiled.export_to_c(os.path.join(out, f"{name}.o"), function_name=name)
    print(f"{name}: compile {t1 - t0:.1f} s", flush=True)


def link(out: str, names: list[str]) -> str:
    os.environ["CUTE_DSL_ARCH"] = "sm_90a"
    import cutlass.cute as cute

    libs = cute.runtime.find_runtime_libraries(enable_tvm_ffi=True)
    lib_dirs = sorted({os.path.dirname(p) for p in libs})
    so = os.path.join(out, "prefill_dev.so")
    cmd = ["g++", "-shared", "-o", so] + [os.path.join(out, f"{n}.o") for n in names]
    for d in lib_dirs:
        cmd += [f"-L{d}"]
    cmd += ["-lcute_dsl_runtime", "-ltvm_ffi", "-Wl,-rpath,$ORIGIN"]
    subprocess.run(cmd, check=True)
    return so


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "prefill_dev"))
    ap.add_argument("--only", default="", help="substring of the variant names to build")
    ap.add_argument("--keep-ptx", action="store_true")
    ap.add_argument("--tag", default="", help="A/B variant: symbols get the suffix __TAG")
    ap.add_argument("--set", default="", help="config overrides of the tagged build, e.g. tile_n=176,pingpong=0")
    ap.add_argument("--append", action="store_true",
                    help="keep the variants already in <out>/manifest.json and link them with the new ones")
    ap.add_argument("-j", "--jobs", type=int, default=1, help="compile processes at a time")
    ap.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if args.one:
        dtype, hd, hdv, causal = args.one
        compile_one(dtype, int(hd), int(hdv), causal == "1", args.out, args.keep_ptx, args.tag, args.set)
        return 0
    assert not args.set or args.tag, "--set needs --tag (overridden builds get their own symbols)"

    manifest_path = os.path.join(args.out, "manifest.json")
    names, failed, tile_m = [], [], {}
    if args.append and os.path.exists(manifest_path):
        old = json.load(open(manifest_path))
        names, tile_m = list(old["symbols"]), dict(old.get("tile_m", {}))
    sys.path.insert(0, ROOT)
    from kernels.common import config as _config

    todo = []
    for dtype, hd, hdv, causal in all_variants():
        name = tagged(variant_name(dtype, hd, hdv, causal), args.tag)
        if args.only not in variant_name(dtype, hd, hdv, causal):
            continue
        _config.set_prefill_overrides(_config.parse_overrides(args.set))
        try:
            tile_m[name] = _config.prefill_tile(hd, hdv, causal)[0]
        finally:
            _config.set_prefill_overrides({})
        cmd = [sys.executable, "-m", "bench.prefill_build_local", "--out", args.out,
               "--one", dtype, str(hd), str(hdv), "1" if causal else "0", "--tag", args.tag, "--set", args.set]
        if args.keep_ptx:
            cmd.append("--keep-ptx")
        todo.append((name, cmd))
    running = []

    def reap(block):
        for item in list(running):
            name, p, t0 = item
            if block or p.poll() is not None:
                out, err = p.communicate()
                running.remove(item)
                if p.returncode:
                    failed.append(name)
                    print(f"FAILED {name}:\n{out[-3000:]}\n{err[-6000:]}", flush=True)
                else:
                    print(out.strip(), f"(process {time.time() - t0:.1f} s)", flush=True)
                    if name not in names:
                        names.append(name)
                if block:
                    return

    for name, cmd in todo:
        while len(running) >= max(args.jobs, 1):
            reap(False)
            time.sleep(0.2)
        running.append((name, subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                               text=True), time.time()))
    while running:
        reap(True)
    if names:
        so = link(args.out, names)
        with open(manifest_path, "w") as f:
            json.dump({"library": os.path.basename(so), "symbols": names,
                       "tile_m": {n: tile_m[n] for n in names if n in tile_m}}, f, indent=1)
        print(f"linked {len(names)} variants into {so}")
    if failed:
        print("failed:", " ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
