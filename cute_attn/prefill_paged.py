"""Prefill and append attention over a paged KV cache, on Hopper; any page size, 1 included.

q is ragged NHD ``(total_q, num_qo_heads, head_dim)`` (``qo_indptr``); the cache is described by a CSR
page table (``kv_indptr``, ``kv_indices``, ``kv_last_page_len``; see ``cute_attn.page``), layout
``"NHD"`` ``(num_pages, page_size, num_kv_heads, head_dim)`` or ``"HND"`` ``(num_pages, num_kv_heads,
page_size, head_dim)``, strides taken from the tensors (K and V must share theirs). Append is a request
with ``q_len < kv_len``: its queries are the last ``q_len`` positions, and the causal mask is aligned
bottom-right (query ``i`` sees keys ``j <= i + kv_len - q_len``). ``head_dim`` in ``(64, 128, 256)``
(``head_dim_vo`` equal), bf16 or fp16. The LSE is natural-log, ``(total_q, num_qo_heads)`` float32; a
query that sees no key gets output 0 and LSE ``-inf``.
"""

from __future__ import annotations

import dataclasses
import importlib
import itertools
import os

import torch

from . import _checks as C
from .artifacts import get_kernel
from .decode import _kernel_view
from .kernels.common.config import paged_kv_interleave
from .layouts.paged import kv_grouped, page_groups_whole, tma_box_rows
from .page import KV_LAYOUTS, check_paged_cache, unpack_paged_kv_cache
from .prefill import _host_indptr, _plan_host, _to_device
from .specs import PREFILL_PAGED_HEAD_DIMS, PrefillPagedSpec

P = importlib.import_module(".prefill", __package__)  # the module (the package's ``prefill`` is the function)


@dataclasses.dataclass
class _PagedPlan:
    spec: PrefillPagedSpec
    num_qo_heads: int
    num_kv_heads: int
    page_size: int
    total_q: int
    sm_scale: float
    max_page_id: int  # -1 when kv_indices were not seen on the host
    qo_indptr: torch.Tensor  # device int32 (batch + 1,)
    cu_seqlens_k: torch.Tensor  # device int32 (batch + 1,): prefix sums of the kv lengths
    kv_indptr: torch.Tensor  # device int32 (batch + 1,): page indptr
    kv_indices: torch.Tensor  # device int32
    work: torch.Tensor  # device (num_work, 4) int32
    num_ctas: int
    total_kv: int = 0  # KV rows of all requests together
    # the kernel's split-KV buffers (prefill._split_buffers) and the split, (groups, pieces) of split_tail, or None
    part: torch.Tensor | None = None
    count: torch.Tensor | None = None
    split: tuple[int, int] | None = None


def _host_lengths(name: str, t, length: int) -> list[int]:
    if isinstance(t, (list, tuple)):
        values = C.int_list(name, t)
    else:
        C.index_vector(name, t)
        values = t.tolist()  # a device tensor costs one sync here: pass CPU tensors to plan()
    if len(values) != length:
        raise ValueError(f"{name} must have length {length}, got {len(values)}")
    return values


_SPECS: dict = {}


def _paged_spec(q_data_type, head_dim: int, hdv: int, causal: bool, page_size: int,
                tile_m: int = 0) -> PrefillPagedSpec:
    """The kernel variant: the tile (``tile_m``: 0 or the short-request tile the planner chose) and the K/V load path
    compiled in (TMA boxes inside one page where the page size and the variant's key tile allow, else gathers).
    Cached per value of the tile-override environment (not while ``set_prefill_overrides`` overrides are set)."""
    from .kernels.common import config

    key = (q_data_type, head_dim, hdv, causal, page_size, tile_m, os.environ.get(config.BUILD_OVERRIDES_ENV))
    spec = None if config._OVERRIDES else _SPECS.get(key)
    if spec is None:
        spec = PrefillPagedSpec(dtype=C.VALUE_DTYPES[q_data_type], head_dim=head_dim, head_dim_v=hdv, causal=causal,
                                tile_m=tile_m)
        spec = dataclasses.replace(spec, tma_box_rows=tma_box_rows(page_size, spec.tile_n))
        if not config._OVERRIDES:
            _SPECS[key] = spec
    return spec


def plan_paged(qo_indptr, kv_indptr, kv_indices, kv_last_page_len, num_qo_heads, num_kv_heads, head_dim,
               page_size, causal, sm_scale, q_data_type, head_dim_vo, device) -> _PagedPlan:
    """Validate the page table (host values) and make the tile schedule; see the wrapper's ``plan``."""
    for name, n in (("num_qo_heads", num_qo_heads), ("num_kv_heads", num_kv_heads), ("page_size", page_size)):
        if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
            raise ValueError(f"{name} must be a positive int, got {n!r}")
    if num_qo_heads % num_kv_heads:
        raise ValueError(f"num_qo_heads ({num_qo_heads}) must be a multiple of num_kv_heads ({num_kv_heads})")
    hdv = head_dim if head_dim_vo is None else head_dim_vo
    if (head_dim, hdv) not in PREFILL_PAGED_HEAD_DIMS:
        raise ValueError(f"(head_dim, head_dim_vo) must be one of {PREFILL_PAGED_HEAD_DIMS}, got ({head_dim}, {hdv})")
    if q_data_type not in C.VALUE_DTYPES:
        raise TypeError(f"q_data_type must be torch.bfloat16 or torch.float16, got {q_data_type}")
    scale = C.softmax_scale(sm_scale, head_dim)

    qo = _host_indptr("qo_indptr", qo_indptr)
    kv = _host_indptr("kv_indptr", kv_indptr)
    if len(qo) != len(kv):
        raise ValueError(f"qo_indptr has {len(qo)} entries but kv_indptr has {len(kv)}")
    batch = len(kv) - 1
    last = _host_lengths("kv_last_page_len", kv_last_page_len, batch)
    if isinstance(kv_indices, (list, tuple)):
        kv_indices = torch.tensor(C.int_list("kv_indices", kv_indices), dtype=torch.int32)
    C.index_vector("kv_indices", kv_indices)
    if kv[-1] > kv_indices.shape[0]:
        raise ValueError(f"kv_indptr[-1]={kv[-1]} exceeds len(kv_indices)={kv_indices.shape[0]}")
    pages = [kv[b + 1] - kv[b] for b in range(batch)]
    if not all(1 <= n <= page_size for p, n in zip(pages, last) if p):
        b = next(b for b in range(batch) if pages[b] and not 1 <= last[b] <= page_size)
        raise ValueError(f"kv_last_page_len[{b}]={last[b]} must lie in [1, page_size={page_size}]")
    kv_lens = [(p - 1) * page_size + n if p else 0 for p, n in zip(pages, last)]
    max_page_id = -1
    if kv_indices.device.type == "cpu" and kv[-1] > 0:
        used = kv_indices[: kv[-1]]
        lo, hi = int(used.min()), int(used.max())
        if lo < 0:
            raise ValueError(f"kv_indices must be non-negative, got {lo}")
        max_page_id = hi

    # the dense plan's L2-aware order: (request, kv head) pairs grouped into sections whose K/V fit in L2 (a
    # paged row of one head is as many whole bytes as a dense one, whatever the page size); one compiled call
    # makes it with the int32 indptr arrays (cu_seqlens_k, then the page indptr as "extra"), copied at once. The
    # variant's tile as the dense plan's rule picks it (choose_tile_m) where the paged kernel has a short-request
    # tile (config.PAGED_SHORT_TILE)
    cu_k = list(itertools.accumulate(kv_lens, initial=0))
    causal = bool(causal)
    # (split_tile: the last round's tiles split over their keys where the variant has split_kv, hd128's 192 x 80 row,
    # as the dense plan: P.split_tail, requests of one kv length on a GPU's slots)
    base_m, short, forced, split_tile = P._plan_tiles(qo, head_dim, hdv, causal, paged=True)
    hp = _plan_host(qo, cu_k, kv, num_qo_heads, num_kv_heads, causal, base_m, short,
                    (head_dim + hdv) * q_data_type.itemsize, device, split_tile)
    variant_m = hp.variant_m if forced is None else forced
    spec = _paged_spec(q_data_type, head_dim, hdv, causal, page_size, variant_m)
    part, count = P._split_buffers(hp.split, split_tile(variant_m)[0] if hp.split else 0, hdv, device)
    indices = kv_indices[: max(kv[-1], 1)] if kv_indices.shape[0] else torch.zeros(1, dtype=torch.int32)
    if indices.device != device:
        indices = _to_device(indices.contiguous(), device)
    return _PagedPlan(
        spec, num_qo_heads, num_kv_heads, page_size, qo[-1], scale, max_page_id, hp.qo, hp.kv, hp.extra,
        indices, hp.work, hp.num_ctas, total_kv=cu_k[-1], part=part, count=count, split=hp.split,
    )


def check_interleave_strides(spec: PrefillPagedSpec, k_view: torch.Tensor) -> None:
    """The grouped TMA boxes (hd64, hd128, hd256 page pieces: ``layouts/paged.py`` ``kv_grouped``, on unless the
    kernels were built with ``CUTE_ATTN_PAGED_KV_INTERLEAVE=0``) address the cache's rows as 8-row groups of the row
    stride across pages, so the page stride must be a whole number of them (NHD and HND caches, stacked or padded,
    are)."""
    if not (kv_grouped(spec.head_dim, spec.tma_box_rows) and paged_kv_interleave()):
        return
    if not page_groups_whole(k_view.stride(0), k_view.stride(1)):
        raise ValueError(
            f"paged_kv_cache: the page stride ({k_view.stride(0)} elements) must be a multiple of 8 row strides "
            f"({k_view.stride(1)}) for page_size {spec.tma_box_rows}+ at head_dim {spec.head_dim} (NHD and HND caches, "
            f"stacked or padded, are)"
        )


def run_paged(plan: _PagedPlan, q, paged_kv_cache, kv_layout: str, out, return_lse):
    k_cache, v_cache = unpack_paged_kv_cache(paged_kv_cache, kv_layout)
    d, dv = plan.spec.head_dim, plan.spec.head_dim_v
    C.tensor("q", q, ndim=3)
    if C.value_dtype("q", q) != plan.spec.dtype:
        raise TypeError(f"q has dtype {q.dtype} but the plan was made for {plan.spec.dtype}")
    C.shape("q", q, (plan.total_q, plan.num_qo_heads, d))
    C.same_dtype("q", q, k_cache=k_cache)
    check_paged_cache(k_cache, plan.page_size, plan.num_kv_heads, d, plan.max_page_id, kv_layout)
    o_shape = (plan.total_q, plan.num_qo_heads, dv)
    if out is not None:
        C.tensor("out", out, ndim=3)
        C.same_dtype("q", q, out=out)
        C.shape("out", out, o_shape)
        C.distinct_elements("out", out)
    for name, t in (("q", q), ("k_cache", k_cache), ("v_cache", v_cache), ("out", out)):
        if t is not None:
            C.aligned_rows(name, t)
    k_view, v_view = _kernel_view(k_cache), _kernel_view(v_cache)
    if k_view.stride() != v_view.stride():
        raise ValueError(
            f"k_cache and v_cache must have the same strides, got {k_cache.stride()} and {v_cache.stride()}"
        )
    check_interleave_strides(plan.spec, k_view)
    if k_cache.shape[0] == 0 and plan.total_kv:  # (page ids on the GPU: not range-checked by check_paged_cache)
        raise ValueError(f"paged_kv_cache has no pages but the plan's requests hold {plan.total_kv} KV rows")
    C.cuda_device(q=q, k_cache=k_cache, v_cache=v_cache, kv_indices=plan.kv_indices)
    if out is None:
        out = C.empty(o_shape, q.dtype, q.device)
    else:
        C.cuda_device(q=q, out=out)
    lse = C.empty((plan.num_qo_heads, plan.total_q), torch.float32, q.device)
    if plan.work.shape[0] and plan.total_kv == 0:
        # no KV row in the whole batch: output 0, LSE -inf, no launch (a cache of no pages has no TMA descriptor)
        out.zero_()
        lse.fill_(float("-inf"))
    elif plan.work.shape[0]:
        with torch.cuda.device(q.device):
            get_kernel(plan.spec)(
                _kernel_view(q), k_view, v_view, _kernel_view(out), lse, plan.qo_indptr, plan.cu_seqlens_k,
                plan.kv_indptr, plan.kv_indices, plan.work, plan.part, plan.count, plan.num_ctas, plan.sm_scale,
            )
    return (out, lse.t()) if return_lse else out


class BatchPrefillWithPagedKVCacheWrapper:
    """Prefill / append over a paged KV cache, FlashInfer-style: ``plan()`` once per batch layout, ``run()``
    per layer.

    ``plan`` is host work: it validates the page table (``kv_indptr`` and ``kv_last_page_len`` are read on
    the host; pass CPU tensors or lists to avoid a device sync; ``kv_indices`` on the CPU are also
    range-checked, on the GPU they are used as they are) and builds the tile schedule (heaviest tiles
    first), copied to the GPU without a sync: the variant's tile as the dense plan picks it (hd64 causal and hd128:
    192 query rows for long requests, 128 for batches of shorter ones) and, for a non-causal hd128 batch of one kv
    length, the last round split over the keys (``CUTE_ATTN_PREFILL_SPLIT=0`` turns that off). ``run`` validates and
    launches on the current stream.
    """

    def __init__(self, kv_layout: str = "NHD", device: torch.device | str = "cuda"):
        if kv_layout not in KV_LAYOUTS:
            raise ValueError(f"kv_layout must be one of {KV_LAYOUTS}, got {kv_layout!r}")
        self.kv_layout = kv_layout
        self.device = torch.device(device)
        self._plan: _PagedPlan | None = None

    def plan(self, qo_indptr, kv_indptr, kv_indices, kv_last_page_len, num_qo_heads: int, num_kv_heads: int,
             head_dim: int, page_size: int, causal: bool = False, sm_scale: float | None = None,
             q_data_type: torch.dtype = torch.bfloat16, head_dim_vo: int | None = None) -> None:
        """Raises ValueError for a non-monotone indptr, ``kv_last_page_len`` outside ``[1, page_size]``
        (for a request with pages), negative page ids or more pages than ``kv_indices`` holds; page ids
        ``>= num_pages`` are reported by ``run`` (the first call that sees the cache). The page-id checks need
        ``kv_indices`` on the host (a CPU tensor or a list): ids given on the GPU are not checked (no device
        sync; an id past the cache reads out of bounds), and the plan keeps a reference to that tensor rather
        than a copy, so it must not be overwritten before the last ``run`` of this plan."""
        self._plan = plan_paged(qo_indptr, kv_indptr, kv_indices, kv_last_page_len, num_qo_heads, num_kv_heads,
                                head_dim, page_size, causal, sm_scale, q_data_type, head_dim_vo, self.device)

    def run(self, q: torch.Tensor, paged_kv_cache, out: torch.Tensor | None = None, return_lse: bool = False):
        """``paged_kv_cache``: ``(k_cache, v_cache)`` or one ``(num_pages, 2, ...)`` tensor. Returns ``out``
        ``(total_q, num_qo_heads, head_dim_vo)`` and, with ``return_lse``, the natural-log LSE
        ``(total_q, num_qo_heads)`` float32."""
        if self._plan is None:
            raise RuntimeError("call plan() before run()")
        return run_paged(self._plan, q, paged_kv_cache, self.kv_layout, out, return_lse)
