"""Kernel specs: one frozen dataclass per compiled variant.

A spec holds only what changes the generated code (dtype, head dims, static flags, arch). Sequence
lengths, batch size, head counts, page counts and scales are runtime arguments of the compiled function,
so one artifact serves every shape. A spec yields its artifact name (also the exported symbol) and its
compile key (spec fields + hash of the kernel sources + DSL version), which decides staleness.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import os
from typing import ClassVar, Iterator

ARCHS = ("sm_90a",)
DTYPES = ("bf16", "fp16")
PREFILL_HEAD_DIMS = ((64, 64), (128, 128), (256, 256), (192, 128))
# Ops whose variants the build compiles and the package ships.
SHIPPED_OPS = ("append_kv", "merge_state", "merge_states")

_PKG_DIR = os.path.dirname(os.path.abspath(__file__))


def _kernels_dir() -> str:
    import cute_attn.kernels as k  # resolved through the package mapping (installed or checkout)

    return os.path.dirname(os.path.abspath(k.__file__))


def _layouts_dir() -> str:
    import cute_attn.layouts as lay

    return os.path.dirname(os.path.abspath(lay.__file__))


def _py_files(folder: str) -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        out += [os.path.join(dirpath, f) for f in sorted(filenames) if f.endswith(".py")]
    return out


def hash_files(paths: list[str]) -> str:
    """sha256 over (file name, content) of the given files, in the given order."""
    h = hashlib.sha256()
    for p in paths:
        h.update(os.path.basename(p).encode())
        with open(p, "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


@dataclasses.dataclass(frozen=True)
class KernelSpec:
    """Base of all specs. Subclasses set ``op``, ``module`` and ``compile_fn`` and add their fields."""

    op: ClassVar[str]
    module: ClassVar[str]  # kernel module under cute_attn.kernels
    compile_fn: ClassVar[str]  # function in that module: compile_fn(spec) -> cute.compile(...) result

    arch: str = "sm_90a"

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if type(value) not in (int, bool, str):
                raise TypeError(
                    f"{type(self).__name__}.{f.name} must be int, bool or str, got {type(value).__name__}"
                )
        if self.arch not in ARCHS:
            raise ValueError(f"arch must be one of {ARCHS}, got {self.arch!r}")
        if hasattr(self, "dtype") and self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got {self.dtype!r}")
        self._check()

    def _check(self) -> None:
        """Per-spec validation of field values; raises ValueError."""

    def fields(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @property
    def name(self) -> str:
        """Artifact name and exported symbol, e.g. ``prefill_bf16_hd128_hdv128_causal_sm90a``."""
        parts = [self.op]
        for f in dataclasses.fields(self):
            if f.name == "arch":
                continue
            v = getattr(self, f.name)
            if isinstance(v, bool):
                parts.append(f.name if v else f"no{f.name}")
            elif isinstance(v, int):
                parts.append(f"{f.name.replace('_', '')}{v}")
            else:
                parts.append(v)
        parts.append(self.arch.replace("_", ""))
        return "_".join(parts)

    def source_files(self) -> list[str]:
        """Files whose content goes into the compile key: the kernel module, kernels/common, layouts."""
        kdir = _kernels_dir()
        files = [os.path.join(kdir, self.module.rsplit(".", 1)[-1] + ".py")]
        files += _py_files(os.path.join(kdir, "common"))
        files += _py_files(_layouts_dir())
        files.append(os.path.join(_PKG_DIR, "specs.py"))
        return files

    def source_hash(self) -> str:
        return hash_files(self.source_files())

    def compile_key(self, dsl_version: str) -> str:
        h = hashlib.sha256(repr((self.name, sorted(self.fields().items()), dsl_version)).encode())
        h.update(self.source_hash().encode())
        return h.hexdigest()[:16]

    def compile(self):
        """Compile with the CuTe DSL (needs nvidia-cutlass-dsl; no GPU). Returns the DSL's compiled object."""
        os.environ.setdefault("CUTE_DSL_ARCH", self.arch)
        mod = importlib.import_module(self.module)
        return getattr(mod, self.compile_fn)(self)


@dataclasses.dataclass(frozen=True)
class AppendKVSpec(KernelSpec):
    op: ClassVar[str] = "append_kv"
    module: ClassVar[str] = "cute_attn.kernels.append_kv"
    compile_fn: ClassVar[str] = "compile_append_kv"

    dtype: str = "bf16"


@dataclasses.dataclass(frozen=True)
class MergeStateSpec(KernelSpec):
    op: ClassVar[str] = "merge_state"
    module: ClassVar[str] = "cute_attn.kernels.merge_states"
    compile_fn: ClassVar[str] = "compile_merge_state"

    dtype: str = "bf16"


@dataclasses.dataclass(frozen=True)
class MergeStatesSpec(KernelSpec):
    op: ClassVar[str] = "merge_states"
    module: ClassVar[str] = "cute_attn.kernels.merge_states"
    compile_fn: ClassVar[str] = "compile_merge_states"

    dtype: str = "bf16"


@dataclasses.dataclass(frozen=True)
class PrefillSpec(KernelSpec):
    op: ClassVar[str] = "prefill"
    module: ClassVar[str] = "cute_attn.kernels.prefill_sm90"
    compile_fn: ClassVar[str] = "compile_prefill"

    dtype: str = "bf16"
    head_dim: int = 128
    head_dim_v: int = 128
    causal: bool = False

    def _check(self) -> None:
        if (self.head_dim, self.head_dim_v) not in PREFILL_HEAD_DIMS:
            raise ValueError(
                f"prefill supports (head_dim, head_dim_v) in {PREFILL_HEAD_DIMS}, "
                f"got ({self.head_dim}, {self.head_dim_v})"
            )


SPEC_TYPES = {cls.op: cls for cls in (AppendKVSpec, MergeStateSpec, MergeStatesSpec, PrefillSpec)}


def spec_from_fields(op: str, fields: dict) -> KernelSpec:
    """Rebuild a spec from its manifest entry."""
    if op not in SPEC_TYPES:
        raise ValueError(f"unknown op {op!r}")
    return SPEC_TYPES[op](**fields)


def shipped_specs(arch: str = "sm_90a", ops: tuple[str, ...] | None = None) -> list[KernelSpec]:
    """Every variant the build compiles and the package ships."""

    def gen() -> Iterator[KernelSpec]:
        for dtype in DTYPES:
            yield AppendKVSpec(arch=arch, dtype=dtype)
            yield MergeStateSpec(arch=arch, dtype=dtype)
            yield MergeStatesSpec(arch=arch, dtype=dtype)
        for dtype in DTYPES:
            for hd, hdv in PREFILL_HEAD_DIMS:
                for causal in (False, True):
                    yield PrefillSpec(arch=arch, dtype=dtype, head_dim=hd, head_dim_v=hdv, causal=causal)

    ops = SHIPPED_OPS if ops is None else ops
    return [s for s in gen() if s.op in ops]
