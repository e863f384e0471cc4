"""Compiled host helpers: small C++ sources in ``cute_attn/csrc/`` (plain C ABI, libc and libm only),
built by ``python -m cute_attn.build`` into the artifact directory and called through ctypes.

A library is built as ``<name>-<hash of its source>.so``, so a changed source never loads an old
build. It is looked up in the kernel artifact directories (``cute_attn.artifacts.search_dirs``);
where none is found (or ``CUTE_ATTN_NO_HOSTLIB=1``), the callers use their numpy fallback.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import threading

_CSRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "csrc")
SOURCES = {"decode_plan": "decode_plan.cpp", "prefill_plan": "prefill_plan.cpp"}
# -ffp-contract=off: no fused multiply-add, the float arithmetic must round as numpy's does
CXXFLAGS = ["-O3", "-shared", "-fPIC", "-fno-exceptions", "-fno-rtti", "-ffp-contract=off", "-std=c++17"]
ARCH_DIR = "sm_90a"  # the artifact directory the libraries sit in (they do not depend on the GPU)

_lock = threading.Lock()
_loaded: dict[str, ctypes.CDLL | None] = {}


def source_path(name: str) -> str:
    return os.path.join(_CSRC, SOURCES[name])


def file_name(name: str) -> str:
    with open(source_path(name), "rb") as f:
        digest = hashlib.sha256(f.read() + " ".join(CXXFLAGS).encode()).hexdigest()[:16]
    return f"{name}-{digest}.so"


def build(name: str, directory: str) -> str:
    """Compile ``name`` into ``directory`` (skipped when that build exists); returns its path."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, file_name(name))
    if os.path.isfile(path):
        return path
    from .artifacts import run_cxx

    run_cxx(["g++", *CXXFLAGS, "-o", f"{path}.{os.getpid()}.tmp", source_path(name)], path, f"building {name}")
    return path


def find(name: str) -> str | None:
    from .artifacts import search_dirs

    fname = file_name(name)
    for d in search_dirs(ARCH_DIR):
        path = os.path.join(d, fname)
        if os.path.isfile(path):
            return path
    return None


def load(name: str, path: str | None = None) -> ctypes.CDLL | None:
    """The loaded library (once per process), or None when it is not built or disabled."""
    if path is None and name in _loaded:
        return _loaded[name]
    with _lock:
        if path is None and name in _loaded:
            return _loaded[name]
        lib = None
        if path is not None or os.environ.get("CUTE_ATTN_NO_HOSTLIB") != "1":
            found = path or find(name)
            lib = ctypes.CDLL(found) if found else None
        if path is None:
            _loaded[name] = lib
        return lib
