"""Ahead-of-time build of every shipped kernel variant: ``python -m cute_attn.build --arch sm_90a``.

Runs on any machine with nvidia-cutlass-dsl and g++ (no GPU): one process per core, rebuilds only the
variants whose compile key changed (sources, fields or DSL version), writes ``manifest.json``, and
builds the compiled host helpers (``cute_attn/hostlib.py``: the decode planner) beside them.
Exit status 1 when any variant failed, with the variant's name and the DSL's message.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import fnmatch
import multiprocessing
import os
import sys
import time
import traceback

from .specs import ARCHS, SPEC_TYPES, KernelSpec, shipped_specs


def _build_worker(op: str, fields: dict, directory: str, keep_ptx: bool) -> tuple[str, dict | None, str]:
    os.environ["CUTE_DSL_ARCH"] = fields["arch"]
    if keep_ptx:  # read by the DSL when it first loads, in this fresh (spawned) process
        os.environ["CUTE_DSL_KEEP"] = "ptx"
        # one dump folder per worker: the DSL names a kept PTX file after the kernel, which variants of one class
        # can share (paged box 16 / box 64), so two workers writing one folder could swap their <name>.ptx copies
        os.environ["CUTE_DSL_DUMP_DIR"] = os.path.join(directory, ".dump", str(os.getpid()))
        os.makedirs(os.environ["CUTE_DSL_DUMP_DIR"], exist_ok=True)
    from .artifacts import export_artifact

    spec = SPEC_TYPES[op](**fields)
    try:
        return spec.name, export_artifact(spec, directory, keep_ptx=keep_ptx), ""
    except Exception as e:  # reported with the variant's name; the build goes on with the others
        msg = "".join(traceback.format_exception_only(type(e), e)).strip()
        return spec.name, None, msg


def kernel_sources() -> str:
    """The folder the kernels are imported from (and so compiled from). ``python -m cute_attn.build`` run inside a
    checkout imports that checkout (the current directory comes first on sys.path) whatever PYTHONPATH says: printed
    so a build of another worktree's kernels shows where they came from (session 19 compared two builds of one tree)."""
    from . import kernels

    return os.path.dirname(os.path.abspath(kernels.__file__))


def plan_build(specs: list[KernelSpec], directory: str, force: bool) -> tuple[list[KernelSpec], list[KernelSpec]]:
    """Split specs into (to build, up to date) against the manifest in ``directory``."""
    from .artifacts import Manifest, dsl_version

    manifest = Manifest.read(directory, specs[0].arch) if specs else None
    version = dsl_version() or ""
    todo, fresh = [], []
    for s in specs:
        entry = manifest.entries.get(s.name) if manifest else None
        ok = (
            not force
            and entry is not None
            and manifest.status(s) == "ok"
            and entry.get("compile_key") == s.compile_key(version)
        )
        (fresh if ok else todo).append(s)
    return todo, fresh


def build(
    arch: str = "sm_90a",
    out: str | None = None,
    jobs: int | None = None,
    only: list[str] | None = None,
    force: bool = False,
    keep_ptx: bool = False,
    ops: tuple[str, ...] | None = None,
    log=print,
) -> tuple[str, list[tuple[str, str]]]:
    """Build into ``out``; returns (directory, failures as (name, message))."""
    from .artifacts import Manifest, default_build_dir

    directory = os.path.abspath(out or default_build_dir(arch))
    specs = shipped_specs(arch, ops)
    if only:
        specs = [s for s in specs if any(fnmatch.fnmatch(s.name, pat) for pat in only)]
    todo, fresh = plan_build(specs, directory, force)
    log(f"cute_attn.build: {len(specs)} variants for {arch} -> {directory}: "
        f"{len(fresh)} up to date, {len(todo)} to build (kernels from {kernel_sources()})")
    manifest = Manifest.read(directory, arch)
    failures: list[tuple[str, str]] = []
    if todo:
        jobs = max(1, min(jobs or os.cpu_count() or 1, len(todo)))
        ctx = multiprocessing.get_context("spawn")
        t0 = time.perf_counter()
        with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
            futures = [pool.submit(_build_worker, s.op, s.fields(), directory, keep_ptx) for s in todo]
            for i, fut in enumerate(cf.as_completed(futures), 1):
                name, entry, msg = fut.result()
                if entry is None:
                    failures.append((name, msg))
                    log(f"[{i}/{len(todo)}] FAILED {name}\n    {msg}")
                else:
                    manifest.entries[name] = entry
                    manifest.write()
                    log(f"[{i}/{len(todo)}] built {name} ({entry['compile_seconds']:.1f} s compile)")
        log(f"cute_attn.build: {len(todo) - len(failures)} built, {len(failures)} failed "
            f"in {time.perf_counter() - t0:.0f} s")
    from . import hostlib

    for name in hostlib.SOURCES:  # the compiled host helpers (seconds; rebuilt when their source changed)
        try:
            path = hostlib.build(name, directory)
            log(f"cute_attn.build: host library {os.path.basename(path)}")
        except Exception as e:  # reported like a kernel variant; callers fall back to numpy without it
            failures.append((name, str(e)))
            log(f"FAILED host library {name}\n    {e}")
    manifest.write()
    return directory, failures


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m cute_attn.build", description=__doc__.split("\n")[0])
    p.add_argument("--arch", default="sm_90a", choices=ARCHS)
    p.add_argument("--out", help="artifact directory (default: <checkout>/build/artifacts/<arch>)")
    p.add_argument("-j", "--jobs", type=int, help="parallel compile processes (default: CPU count)")
    p.add_argument("--only", action="append", help="glob on variant names; repeatable")
    p.add_argument("--force", action="store_true", help="rebuild even the up-to-date variants")
    p.add_argument("--keep-ptx", action="store_true", help="also write <name>.ptx beside each artifact")
    p.add_argument("--list", action="store_true", help="print the shipped variants and exit")
    args = p.parse_args(argv)
    os.environ["CUTE_DSL_ARCH"] = args.arch
    if args.list:
        for s in shipped_specs(args.arch):
            print(s.name)
        return 0
    from .artifacts import dsl_available

    if not dsl_available():
        print("cute_attn.build needs the CuTe DSL: pip install 'nvidia-cutlass-dsl[cu13]==4.8.1'", file=sys.stderr)
        return 2
    _, failures = build(args.arch, args.out, args.jobs, args.only, args.force, args.keep_ptx)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
