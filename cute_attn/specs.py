"""Kernel specs: one frozen dataclass per compiled variant.

A spec holds only what changes the generated code (dtype, head dims, static flags, arch). Sequence
lengths, batch size, head counts, page counts and scales are runtime arguments of the compiled function,
so one artifact serves every shape. A spec yields its artifact name (also the exported symbol) and its
compile key (spec fields + hash of the kernel sources + DSL version), which decides staleness.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import importlib
import os
from typing import ClassVar, Iterator

# head_dim -> stages of the one-item-per-CTA decode variant: one table, beside the tiles the kernel reads
from .layouts.decode_work import DECODE_ONE_ITEM_STAGES, ITEM_HEADS, ITEM_HEADS_HEAD_DIMS  # noqa: E402,F401

ARCHS = ("sm_90a",)
DTYPES = ("bf16", "fp16")
PREFILL_HEAD_DIMS = ((64, 64), (128, 128), (256, 256), (192, 128))
DECODE_HEAD_DIMS = (64, 128, 256)
# Paged prefill: K and V rows share one gather geometry (head_dim == head_dim_v, row = 8..32 x 16 bytes).
PREFILL_PAGED_HEAD_DIMS = ((64, 64), (128, 128), (256, 256))
# Paged prefill K/V load paths: 0 = 16-byte cp.async row gathers (any page size); n = TMA boxes of n rows inside
# one page (page_size % n == 0 and tile_n % n == 0; layouts.paged.tma_box_rows picks it from the page size)
PREFILL_PAGED_TMA_BOX_ROWS = (0, 16, 64)
# Ops whose variants the build compiles and the package ships.
SHIPPED_OPS = ("append_kv", "merge_state", "merge_states", "sort_pages", "prefill", "prefill_paged", "decode")


def _kernels_dir() -> str:
    import cute_attn.kernels as k  # resolved through the package mapping (installed or checkout)

    return os.path.dirname(os.path.abspath(k.__file__))


def _layouts_dir() -> str:
    import cute_attn.layouts as lay

    return os.path.dirname(os.path.abspath(lay.__file__))


def _local_imports(path: str, seen: set[str]) -> None:
    """Add ``path`` and, recursively, the kernel/layout modules it imports (relative imports inside
    kernels/, absolute ``cute_attn.kernels.*`` / ``cute_attn.layouts.*``) to ``seen``."""
    if path in seen or not os.path.isfile(path):
        return
    seen.add(path)
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    roots = {"cute_attn.kernels": _kernels_dir(), "cute_attn.layouts": _layouts_dir()}
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = os.path.dirname(path)
                for _ in range(node.level - 1):
                    base = os.path.dirname(base)
                mod = os.path.join(base, *(node.module or "").split(".")) if node.module else base
                targets += [mod] + [os.path.join(mod, a.name) for a in node.names]
            elif node.module:
                targets += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            targets += [a.name for a in node.names]
        for t in targets:
            if not os.path.isabs(t):
                root = next((r for r in roots if t == r or t.startswith(r + ".")), None)
                if root is None:
                    continue
                t = os.path.join(roots[root], *t[len(root) + 1:].split(".")) if t != root else roots[root]
            for cand in (t + ".py", os.path.join(t, "__init__.py")):
                _local_imports(cand, seen)


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

    # fields left out of the name while they hold their default (variants added later keep the old names)
    name_optional: ClassVar[tuple] = ()

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

    def build_env(self) -> dict:
        """Build-time switches (environment variables read when the kernel is compiled) that change this variant's
        code and that the host must plan for alike, as ``{name: value}``; recorded in the manifest, and an artifact
        built under other values is not loaded (:meth:`cute_attn.artifacts.Manifest.status`). Empty for most."""
        return {}

    @property
    def name(self) -> str:
        """Artifact name and exported symbol, e.g. ``prefill_bf16_hd128_hdv128_causal_sm90a``."""
        parts = [self.op]
        for f in dataclasses.fields(self):
            if f.name == "arch":
                continue
            v = getattr(self, f.name)
            if f.name in self.name_optional and v == f.default:
                continue
            if isinstance(v, bool):
                tag = f.name.replace("_", "")
                parts.append(tag if v else f"no{tag}")
            elif isinstance(v, int):
                parts.append(f"{f.name.replace('_', '')}{v}")
            else:
                parts.append(v)
        parts.append(self.arch.replace("_", ""))
        return "_".join(parts)

    def source_files(self) -> list[str]:
        """Files whose content goes into the compile key: the kernel module, the kernel and layout modules
        it imports (transitively). Spec fields enter the key separately."""
        main = os.path.join(_kernels_dir(), self.module.rsplit(".", 1)[-1] + ".py")
        seen: set[str] = set()
        _local_imports(main, seen)
        seen.discard(main)
        return [main] + sorted(seen)

    def source_hash(self) -> str:
        return hash_files(self.source_files())

    def compile_key(self, dsl_version: str) -> str:
        key = (self.name, sorted(self.fields().items()), dsl_version)
        env = self.build_env()
        h = hashlib.sha256(repr(key + (sorted(env.items()),) if env else key).encode())
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
class SortPagesSpec(KernelSpec):
    """Each request's page ids sorted (but its last), for ``plan(sort_pages=True)`` of the decode wrapper."""

    op: ClassVar[str] = "sort_pages"
    module: ClassVar[str] = "cute_attn.kernels.sort_pages"
    compile_fn: ClassVar[str] = "compile_sort_pages"


@dataclasses.dataclass(frozen=True)
class PrefillSpec(KernelSpec):
    """Prefill over dense ragged K/V. ``tile_m = 0``: the tile table's query rows per CTA; otherwise one of
    the other tiles of ``prefill_tile_m_choices`` (a short-request variant: ``PREFILL_SHORT_TILE``)."""

    op: ClassVar[str] = "prefill"
    module: ClassVar[str] = "cute_attn.kernels.prefill_sm90"
    compile_fn: ClassVar[str] = "compile_prefill"
    head_dims: ClassVar[tuple] = PREFILL_HEAD_DIMS
    name_optional: ClassVar[tuple] = ("tile_m",)

    dtype: str = "bf16"
    head_dim: int = 128
    head_dim_v: int = 128
    causal: bool = False
    tile_m: int = 0

    def build_env(self) -> dict:
        """The 2-CTA cluster switch where it applies (dense non-causal hd256, ``CUTE_ATTN_PREFILL_CLUSTER``): a cluster
        kernel given per-tile rows, or the reverse, would leave tiles unwritten. And the development tile overrides
        (``CUTE_ATTN_PREFILL_SET``) that apply to this head dim, when set: the host plans with the tile the process
        sees, so a kernel built with another one would leave rows unwritten."""
        from .kernels.common.config import CLUSTER_HEAD_DIMS, prefill_cluster

        env = _tile_overrides(self.head_dim)
        if self.causal or (self.head_dim, self.head_dim_v) not in CLUSTER_HEAD_DIMS:
            return env
        return {"cluster": prefill_cluster(self.head_dim, self.head_dim_v, self.causal), **env}

    def _check(self) -> None:
        if (self.head_dim, self.head_dim_v) not in self.head_dims:
            raise ValueError(
                f"{self.op} supports (head_dim, head_dim_v) in {self.head_dims}, "
                f"got ({self.head_dim}, {self.head_dim_v})"
            )
        if self.tile_m:
            from .kernels.common.config import prefill_tile_m_choices

            if self.tile_m not in prefill_tile_m_choices(self.head_dim, self.head_dim_v, self.causal)[1:]:
                raise ValueError(
                    f"{self.op}: no tile_m={self.tile_m} variant for head dims ({self.head_dim}, "
                    f"{self.head_dim_v}), causal={self.causal}"
                )


@dataclasses.dataclass(frozen=True)
class PrefillPagedSpec(PrefillSpec):
    """Prefill / append over a paged KV cache (NHD or HND: the cache strides are runtime). ``tma_box_rows``:
    0 = K/V gathered by cp.async (any page size), n = one TMA box of n rows per page piece (page_size % n == 0).
    ``tile_m``: 0 = the paged kernel's table tile, or its short-request tile where it has one
    (``kernels.common.config.PAGED_SHORT_TILE``: 128 x 128 at hd64 causal and hd128)."""

    op: ClassVar[str] = "prefill_paged"
    module: ClassVar[str] = "cute_attn.kernels.prefill_paged_sm90"
    compile_fn: ClassVar[str] = "compile_prefill_paged"
    head_dims: ClassVar[tuple] = PREFILL_PAGED_HEAD_DIMS

    tma_box_rows: int = 0

    def build_env(self) -> dict:
        """The tile overrides as for :class:`PrefillSpec` (the paged kernel has no cluster form), and the K/V stage
        layout of the TMA-box variants that have two layouts (``CUTE_ATTN_PAGED_KV_INTERLEAVE``) when it is not the
        default: the host checks the cache's page stride for the interleaved boxes only, so a process that plans for
        the old layout must not run an interleaved kernel (nor the reverse)."""
        from .kernels.common.config import paged_kv_interleave
        from .layouts.paged import kv_grouped

        env = _tile_overrides(self.head_dim)
        if kv_grouped(self.head_dim, self.tma_box_rows, 2) and not paged_kv_interleave():  # (bf16, fp16: 2 bytes)
            env["kv_interleave"] = 0
        return env

    def _check(self) -> None:
        if (self.head_dim, self.head_dim_v) not in self.head_dims:
            raise ValueError(
                f"{self.op} supports (head_dim, head_dim_v) in {self.head_dims}, "
                f"got ({self.head_dim}, {self.head_dim_v})"
            )
        if self.tile_m and self.tile_m not in _short_tiles(self.head_dim, self.head_dim_v, self.causal, paged=True):
            raise ValueError(
                f"{self.op}: no tile_m={self.tile_m} variant for head dims ({self.head_dim}, {self.head_dim_v}), "
                f"causal={self.causal} (short-request tiles: kernels.common.config.PAGED_SHORT_TILE)"
            )
        if self.tma_box_rows not in PREFILL_PAGED_TMA_BOX_ROWS:
            raise ValueError(f"tma_box_rows must be one of {PREFILL_PAGED_TMA_BOX_ROWS}, got {self.tma_box_rows}")
        if self.tma_box_rows and self.tile_n % self.tma_box_rows:
            raise ValueError(f"tma_box_rows {self.tma_box_rows} does not divide the key tile ({self.tile_n} rows)")

    @property
    def tile_n(self) -> int:
        from .kernels.common.config import prefill_tile

        return prefill_tile(self.head_dim, self.head_dim_v, self.causal, self.tile_m, paged=True)[1]


@dataclasses.dataclass(frozen=True)
class DecodeSpec(KernelSpec):
    """Batch decode over a paged KV cache (NHD or HND: the cache strides are runtime)."""

    op: ClassVar[str] = "decode"
    module: ClassVar[str] = "cute_attn.kernels.decode_sm90"
    compile_fn: ClassVar[str] = "compile_decode"

    dtype: str = "bf16"
    head_dim: int = 128
    # KV pipeline stages; 0: the table's (layouts.decode_work.DECODE_TILES). The variant with
    # DECODE_ONE_ITEM_STAGES[head_dim] serves plans in which every CTA runs one work item (cute_attn.decode).
    stages: int = 0
    # kv heads per work item (layouts.decode_work.ITEM_HEADS): 1, or H for the plans of items of H kv heads
    item_heads: int = 1
    # the kv heads of each item read from its row at run time (Item.HEADS_LOG2: 1, 2, 4 or 8): one kernel for plans of
    # either kind, the variant a CUDA graph captures (cute_attn.decode GRAPH_ITEM_HEADS); item_heads 1 only
    dyn_heads: bool = False

    name_optional: ClassVar[tuple] = ("stages", "item_heads", "dyn_heads")

    def _check(self) -> None:
        if self.head_dim not in DECODE_HEAD_DIMS:
            raise ValueError(f"decode supports head_dim in {DECODE_HEAD_DIMS}, got {self.head_dim}")
        if self.stages and not 2 <= self.stages <= 6:
            raise ValueError(f"decode stages must be 0 (the table's) or 2..6, got {self.stages}")
        if self.item_heads != 1 and self.item_heads not in ITEM_HEADS:
            raise ValueError(f"decode item_heads must be 1 or one of {ITEM_HEADS}, got {self.item_heads}")
        if not isinstance(self.dyn_heads, bool):
            raise TypeError(f"decode dyn_heads must be a bool, got {self.dyn_heads!r}")
        if self.dyn_heads and (self.item_heads != 1 or self.head_dim not in ITEM_HEADS_HEAD_DIMS):
            raise ValueError(f"decode dyn_heads needs item_heads 1 and head_dim in {ITEM_HEADS_HEAD_DIMS}, got "
                             f"item_heads {self.item_heads}, head_dim {self.head_dim}")


SPEC_TYPES = {
    cls.op: cls
    for cls in (AppendKVSpec, MergeStateSpec, MergeStatesSpec, SortPagesSpec, PrefillSpec, PrefillPagedSpec, DecodeSpec)
}


def spec_from_fields(op: str, fields: dict) -> KernelSpec:
    """Rebuild a spec from its manifest entry."""
    if op not in SPEC_TYPES:
        raise ValueError(f"unknown op {op!r}")
    return SPEC_TYPES[op](**fields)


def _tile_overrides(head_dim: int) -> dict:
    """``{"set": "field=value,..."}`` of the ``CUTE_ATTN_PREFILL_SET`` overrides that apply to ``head_dim`` (sorted),
    ``{}`` when none do (production)."""
    from .kernels.common.config import env_overrides

    over = env_overrides(head_dim)
    return {"set": ",".join(f"{k}={int(v)}" for k, v in sorted(over.items()))} if over else {}


def _short_tiles(head_dim: int, head_dim_v: int, causal: bool, paged: bool = False) -> tuple[int, ...]:
    from .kernels.common.config import prefill_tile_m_choices

    return prefill_tile_m_choices(head_dim, head_dim_v, causal, paged)[1:]


def shipped_specs(arch: str = "sm_90a", ops: tuple[str, ...] | None = None) -> list[KernelSpec]:
    """Every variant the build compiles and the package ships."""

    def gen() -> Iterator[KernelSpec]:
        for dtype in DTYPES:
            yield AppendKVSpec(arch=arch, dtype=dtype)
            yield MergeStateSpec(arch=arch, dtype=dtype)
            yield MergeStatesSpec(arch=arch, dtype=dtype)
        yield SortPagesSpec(arch=arch)
        for dtype in DTYPES:
            for hd, hdv in PREFILL_HEAD_DIMS:
                for causal in (False, True):
                    yield PrefillSpec(arch=arch, dtype=dtype, head_dim=hd, head_dim_v=hdv, causal=causal)
                    for tile_m in _short_tiles(hd, hdv, causal):
                        yield PrefillSpec(arch=arch, dtype=dtype, head_dim=hd, head_dim_v=hdv, causal=causal,
                                          tile_m=tile_m)
        for dtype in DTYPES:
            for hd, hdv in PREFILL_PAGED_HEAD_DIMS:
                for causal in (False, True):
                    for tile_m in (0,) + _short_tiles(hd, hdv, causal, paged=True):
                        spec = PrefillPagedSpec(arch=arch, dtype=dtype, head_dim=hd, head_dim_v=hdv, causal=causal,
                                                tile_m=tile_m)
                        for box in PREFILL_PAGED_TMA_BOX_ROWS:
                            if box == 0 or spec.tile_n % box == 0:
                                yield dataclasses.replace(spec, tma_box_rows=box)
        for dtype in DTYPES:
            for hd in DECODE_HEAD_DIMS:
                yield DecodeSpec(arch=arch, dtype=dtype, head_dim=hd)
                if hd in DECODE_ONE_ITEM_STAGES:
                    yield DecodeSpec(arch=arch, dtype=dtype, head_dim=hd, stages=DECODE_ONE_ITEM_STAGES[hd])
                if hd in ITEM_HEADS_HEAD_DIMS:
                    for h in ITEM_HEADS:
                        yield DecodeSpec(arch=arch, dtype=dtype, head_dim=hd, stages=DECODE_ONE_ITEM_STAGES.get(hd, 0),
                                         item_heads=h)
                    yield DecodeSpec(arch=arch, dtype=dtype, head_dim=hd, dyn_heads=True)  # the CUDA-graph variant

    ops = SHIPPED_OPS if ops is None else ops
    return [s for s in gen() if s.op in ops]
