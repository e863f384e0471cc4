"""Compiled-kernel artifacts: manifest, ahead-of-time export, loading, JIT fallback.

An artifact directory holds one shared library per spec (``<spec.name>.so``, exporting the TVM-FFI
function ``spec.name``) and ``manifest.json``::

    {"format": 1, "arch": "sm_90a", "artifacts": {name: {"op", "fields", "file", "symbol",
     "source_hash", "compile_key", "dsl_version", "compile_seconds"}}}

Loading (``get_kernel(spec)``) happens once per spec and process. Directories are searched in order:
``$CUTE_ATTN_ARTIFACTS``, ``<checkout>/build/artifacts/<arch>``, ``<package>/_artifacts/<arch>``, and the
JIT cache ``$CUTE_ATTN_CACHE`` (default ``~/.cache/cute_attn/<arch>``). An entry whose ``source_hash``
differs from the kernel sources on disk is stale. Stale or missing: if the DSL and a GPU are present the
kernel is compiled into the JIT cache, else ``ArtifactError`` names the build command.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import importlib.util
import json
import os
import subprocess
import tempfile
import threading
import time
from typing import Callable

from .errors import BUILD_COMMAND, ArtifactError
from .specs import KernelSpec

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PKG = os.path.dirname(os.path.abspath(__file__))

_lock = threading.Lock()
_loaded: dict[KernelSpec, Callable] = {}
_runtime_preloaded = False


def dsl_version() -> str | None:
    """Installed nvidia-cutlass-dsl version, or None where only the runtime is present."""
    try:
        return importlib.metadata.version("nvidia-cutlass-dsl")
    except importlib.metadata.PackageNotFoundError:
        return None


def dsl_available() -> bool:
    return dsl_version() is not None and importlib.util.find_spec("cutlass") is not None


def default_build_dir(arch: str) -> str:
    return os.path.join(_ROOT, "build", "artifacts", arch)


def cache_dir(arch: str) -> str:
    base = os.environ.get("CUTE_ATTN_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "cute_attn")
    return os.path.join(base, arch)


def search_dirs(arch: str) -> list[str]:
    dirs = []
    env = os.environ.get("CUTE_ATTN_ARTIFACTS")
    if env:
        dirs.append(env)
    dirs += [default_build_dir(arch), os.path.join(_PKG, "_artifacts", arch), cache_dir(arch)]
    return dirs


# ----------------------------------------------------------------------------------------- manifest


class Manifest:
    """The JSON index of one artifact directory."""

    def __init__(self, directory: str, arch: str, entries: dict | None = None):
        self.directory = directory
        self.arch = arch
        self.entries: dict[str, dict] = entries or {}

    @classmethod
    def read(cls, directory: str, arch: str) -> "Manifest":
        path = os.path.join(directory, MANIFEST)
        if not os.path.isfile(path):
            return cls(directory, arch)
        with open(path) as f:
            data = json.load(f)
        if data.get("format") != MANIFEST_FORMAT or data.get("arch") != arch:
            return cls(directory, arch)
        return cls(directory, arch, data.get("artifacts", {}))

    def write(self) -> None:
        os.makedirs(self.directory, exist_ok=True)
        data = {"format": MANIFEST_FORMAT, "arch": self.arch, "artifacts": dict(sorted(self.entries.items()))}
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".manifest.")
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1)
            f.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, os.path.join(self.directory, MANIFEST))

    def status(self, spec: KernelSpec) -> str:
        """'ok', 'missing' (no entry or no file), 'stale' (sources changed since it was built) or 'other-build' (built
        under other build-time switches than this process plans for: :meth:`KernelSpec.build_env`)."""
        entry = self.entries.get(spec.name)
        if entry is None or not os.path.isfile(os.path.join(self.directory, entry["file"])):
            return "missing"
        if entry["source_hash"] != spec.source_hash() or entry["fields"] != spec.fields():
            return "stale"
        if entry.get("build_env", {}) != spec.build_env():
            return "other-build"
        return "ok"

    def path(self, spec: KernelSpec) -> str:
        return os.path.join(self.directory, self.entries[spec.name]["file"])


# ------------------------------------------------------------------------------------------- build


def run_cxx(cmd: list[str], out: str, what: str, scratch: tuple[str, ...] = ()) -> None:
    """Run the C++ compiler ``cmd``, which writes ``out + ".<pid>.tmp"``; move that to ``out`` (atomic: a
    parallel build never sees half a library). Raises RuntimeError with the compiler's message naming
    ``what``; removes the temporary and the ``scratch`` files in every case."""
    tmp = f"{out}.{os.getpid()}.tmp"
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{what} failed: {proc.stderr.strip()}")
        os.replace(tmp, out)
    finally:
        for p in (tmp, *scratch):
            if os.path.exists(p):
                os.remove(p)


def _link_libraries() -> list[str]:
    import cutlass.cute as cute

    return cute.runtime.find_runtime_libraries(enable_tvm_ffi=True)


def link_compiled(compiled, directory: str, symbol: str) -> str:
    """Export a compiled DSL function as the TVM-FFI function ``symbol`` and link ``<directory>/<symbol>.so`` against
    the DSL runtime libraries (found beside it at load time: rpath ``$ORIGIN``); returns the library's path."""
    obj = os.path.join(directory, f".{symbol}.{os.getpid()}.o")
    so = os.path.join(directory, f"{symbol}.so")
    compiled.export_to_c(obj, function_name=symbol)
    cmd = ["g++", "-shared", "-o", f"{so}.{os.getpid()}.tmp", obj]
    for lib in _link_libraries():
        cmd += [f"-L{os.path.dirname(lib)}", f"-l{os.path.basename(lib)[3:].rsplit('.so', 1)[0]}"]
    cmd.append("-Wl,-rpath,$ORIGIN")
    run_cxx(cmd, so, f"linking {symbol}", scratch=(obj,))
    return so


def export_artifact(spec: KernelSpec, directory: str, keep_ptx: bool = False) -> dict:
    """Compile ``spec`` with the DSL, link ``<name>.so`` into ``directory``; return its manifest entry.

    Needs nvidia-cutlass-dsl and a C++ compiler; no GPU.
    """
    os.makedirs(directory, exist_ok=True)
    t0 = time.perf_counter()
    compiled = spec.compile()
    seconds = time.perf_counter() - t0
    so = link_compiled(compiled, directory, spec.name)
    if keep_ptx:
        ptx = getattr(compiled, "__ptx__", None)
        if ptx and os.path.isfile(ptx):  # the DSL may hand back the path of the PTX it kept
            with open(ptx) as f:
                ptx = f.read()
        if ptx:
            with open(os.path.join(directory, f"{spec.name}.ptx"), "w") as f:
                f.write(ptx)
    version = dsl_version()
    return {
        "op": spec.op,
        "fields": spec.fields(),
        "file": os.path.basename(so),
        "symbol": spec.name,
        "source_hash": spec.source_hash(),
        **({"build_env": spec.build_env()} if spec.build_env() else {}),
        "compile_key": spec.compile_key(version or ""),
        "dsl_version": version,
        "compile_seconds": round(seconds, 2),
    }


# -------------------------------------------------------------------------------------------- load


def _preload_runtime() -> None:
    """Make libcute_dsl_runtime.so resolvable for artifacts when it is not on LD_LIBRARY_PATH."""
    global _runtime_preloaded
    if _runtime_preloaded:
        return
    found = importlib.util.find_spec("nvidia_cutlass_dsl")
    bases = list(found.submodule_search_locations or []) if found else []
    for base in bases:
        for sub in ("cu13", "cu12"):
            lib = os.path.join(base, sub, "lib", "libcute_dsl_runtime.so")
            if os.path.isfile(lib):
                ctypes.CDLL(lib, mode=ctypes.RTLD_GLOBAL)
                _runtime_preloaded = True
                return
    _runtime_preloaded = True  # rely on LD_LIBRARY_PATH (the GPU-host runtime kit sets it)


def _load_library(path: str, symbol: str) -> Callable:
    try:
        import tvm_ffi
    except ImportError as e:
        raise ArtifactError("cute_attn needs apache-tvm-ffi to load kernels: pip install apache-tvm-ffi") from e
    _preload_runtime()
    module = tvm_ffi.load_module(path)
    return module[symbol]


def _gpu_available() -> bool:
    import torch

    return torch.cuda.is_available()


def find_artifact(spec: KernelSpec) -> tuple[str | None, list[str]]:
    """Path of an up-to-date artifact for ``spec`` and, when none, what each directory had instead."""
    seen = []
    for d in search_dirs(spec.arch):
        m = Manifest.read(d, spec.arch)
        st = m.status(spec)
        if st == "ok":
            return m.path(spec), seen
        if st == "stale":
            seen.append(f"{d}: stale (kernel sources changed since it was built)")
        elif st == "other-build":
            seen.append(f"{d}: built with the build-time switches {m.entries[spec.name].get('build_env', {})}, this "
                        f"process needs {spec.build_env()} (set them alike for the build and the run)")
    return None, seen


def get_kernel(spec: KernelSpec) -> Callable:
    """The loaded kernel function for ``spec``; loaded once per process."""
    fn = _loaded.get(spec)
    if fn is not None:
        return fn
    with _lock:
        fn = _loaded.get(spec)
        if fn is not None:
            return fn
        path, seen = find_artifact(spec)
        if path is None:
            if dsl_available() and _gpu_available():
                directory = cache_dir(spec.arch)
                entry = export_artifact(spec, directory)
                m = Manifest.read(directory, spec.arch)
                m.entries[spec.name] = entry
                m.write()
                path = m.path(spec)
            else:
                where = "; ".join(seen) if seen else "no artifact in " + ", ".join(search_dirs(spec.arch))
                raise ArtifactError(
                    f"kernel {spec.name} is not built ({where}). Build it on any machine with "
                    f"nvidia-cutlass-dsl: `{BUILD_COMMAND}` (or set CUTE_ATTN_ARTIFACTS to a built directory)."
                )
        fn = _load_library(path, spec.name)
        _loaded[spec] = fn
        return fn
