"""Paged KV cache operations.

The cache is described by a CSR page table: request ``b`` owns pages
``kv_indices[kv_indptr[b]:kv_indptr[b+1]]``; its last page holds ``kv_last_page_len[b]`` rows.
Layouts: ``"NHD"`` caches are ``(num_pages, page_size, num_kv_heads, head_dim)``, ``"HND"`` caches
``(num_pages, num_kv_heads, page_size, head_dim)``. A cache is a ``(k_cache, v_cache)`` pair or one
tensor with K and V stacked in dim 1: ``(num_pages, 2, ...)``.
"""

from __future__ import annotations

import torch

from . import _checks as C
from .artifacts import get_kernel
from .specs import AppendKVSpec

KV_LAYOUTS = ("NHD", "HND")


def unpack_paged_kv_cache(paged_kv_cache, kv_layout: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``(k_cache, v_cache)`` as NHD-shaped views ``(num_pages, page_size, num_kv_heads, head_dim)``."""
    if kv_layout not in KV_LAYOUTS:
        raise ValueError(f"kv_layout must be one of {KV_LAYOUTS}, got {kv_layout!r}")
    if isinstance(paged_kv_cache, (tuple, list)):
        if len(paged_kv_cache) != 2:
            raise ValueError("paged_kv_cache must be a (k_cache, v_cache) pair")
        k_cache = C.tensor("paged_kv_cache[0] (k_cache)", paged_kv_cache[0], ndim=4)
        v_cache = C.tensor("paged_kv_cache[1] (v_cache)", paged_kv_cache[1], ndim=4)
    else:
        C.tensor("paged_kv_cache", paged_kv_cache, ndim=5)
        if paged_kv_cache.shape[1] != 2:
            raise ValueError(f"paged_kv_cache dim 1 must be 2 (K and V), got shape {tuple(paged_kv_cache.shape)}")
        k_cache, v_cache = paged_kv_cache[:, 0], paged_kv_cache[:, 1]
    if k_cache.shape != v_cache.shape:
        raise ValueError(f"k_cache {tuple(k_cache.shape)} and v_cache {tuple(v_cache.shape)} must have one shape")
    C.same_dtype("k_cache", k_cache, v_cache=v_cache)
    if kv_layout == "HND":
        k_cache, v_cache = k_cache.transpose(1, 2), v_cache.transpose(1, 2)
    return k_cache, v_cache


def check_paged_cache(k_cache: torch.Tensor, page_size: int, num_kv_heads: int, head_dim: int,
                      max_page_id: int, kv_layout: str) -> None:
    """The NHD view of a cache matches the plan, and the plan's page ids lie inside it."""
    num_pages = k_cache.shape[0]
    if tuple(k_cache.shape) != (num_pages, page_size, num_kv_heads, head_dim):
        raise ValueError(
            f"paged_kv_cache (as NHD) has shape {tuple(k_cache.shape)}, expected (num_pages, page_size="
            f"{page_size}, num_kv_heads={num_kv_heads}, head_dim={head_dim}) (kv_layout={kv_layout!r})"
        )
    if max_page_id >= num_pages:
        raise ValueError(f"kv_indices must lie in [0, num_pages={num_pages}), got max {max_page_id}")


def get_batch_indices_positions(append_indptr: torch.Tensor, seq_lens: torch.Tensor, nnz: int):
    """Per appended row, its request and its position, for :func:`append_paged_kv_cache`.

    Rows ``append_indptr[b]:append_indptr[b+1]`` of the appended K/V belong to request ``b`` and become
    the last rows of a sequence whose length after the append is ``seq_lens[b]``. ``nnz`` (=
    ``append_indptr[-1]``) is passed so that no device sync is needed. Returns int32
    ``(batch_indices, positions)`` of length ``nnz`` on ``append_indptr``'s device.
    """
    C.index_vector("append_indptr", append_indptr)
    C.index_vector("seq_lens", seq_lens, append_indptr.shape[0] - 1)
    if seq_lens.device != append_indptr.device:
        raise ValueError(f"seq_lens is on {seq_lens.device} but append_indptr is on {append_indptr.device}")
    if not isinstance(nnz, int) or nnz < 0:
        raise ValueError(f"nnz must be a non-negative int, got {nnz!r}")
    counts = (append_indptr[1:] - append_indptr[:-1]).long()
    batch = torch.arange(counts.shape[0], device=append_indptr.device)
    batch_indices = torch.repeat_interleave(batch, counts, output_size=nnz)
    row = torch.arange(nnz, device=append_indptr.device)
    positions = row - append_indptr.long()[batch_indices] + (seq_lens.long() - counts)[batch_indices]
    return batch_indices.to(torch.int32), positions.to(torch.int32)


def append_paged_kv_cache(
    append_key: torch.Tensor,
    append_value: torch.Tensor,
    batch_indices: torch.Tensor,
    positions: torch.Tensor,
    paged_kv_cache,
    kv_indices: torch.Tensor,
    kv_indptr: torch.Tensor,
    kv_last_page_len: torch.Tensor,
    kv_layout: str = "NHD",
) -> None:
    """Scatter new K/V rows of a ragged batch into a paged cache, in place, on the current stream.

    ``append_key``/``append_value``: ``(nnz, num_kv_heads, head_dim)``, bf16 or fp16 (the cache dtype).
    Row ``i`` is written to logical row ``positions[i]`` of request ``batch_indices[i]`` (see
    :func:`get_batch_indices_positions` for the indptr form). Any page size, including 1.

    Index ranges are checked on the host when the index tensors are on the CPU. On the GPU they are
    not (that would need a device sync); instead the kernel skips (does not write) a row whose request,
    page slot or page id falls outside the page table or the cache.
    """
    C.tensor("append_key", append_key, ndim=3)
    C.tensor("append_value", append_value, ndim=3)
    dtype = C.value_dtype("append_key", append_key)
    C.same_dtype("append_key", append_key, append_value=append_value)
    if append_value.shape != append_key.shape:
        raise ValueError(
            f"append_value shape {tuple(append_value.shape)} must equal append_key shape {tuple(append_key.shape)}"
        )
    nnz, num_kv_heads, head_dim = append_key.shape
    k_cache, v_cache = unpack_paged_kv_cache(paged_kv_cache, kv_layout)
    C.same_dtype("append_key", append_key, k_cache=k_cache)
    num_pages, page_size = k_cache.shape[0], k_cache.shape[1]
    if tuple(k_cache.shape[2:]) != (num_kv_heads, head_dim):
        raise ValueError(
            f"cache (num_kv_heads, head_dim) = {tuple(k_cache.shape[2:])} but append_key has "
            f"{(num_kv_heads, head_dim)} (kv_layout={kv_layout!r})"
        )
    C.index_vector("batch_indices", batch_indices, nnz)
    C.index_vector("positions", positions, nnz)
    C.index_vector("kv_indptr", kv_indptr)
    batch = kv_indptr.shape[0] - 1
    if batch < 0:
        raise ValueError("kv_indptr must have at least one element")
    C.index_vector("kv_indices", kv_indices)
    C.index_vector("kv_last_page_len", kv_last_page_len, batch)
    for name, t in (("append_key", append_key), ("append_value", append_value), ("k_cache", k_cache),
                    ("v_cache", v_cache)):
        C.aligned_rows(name, t)
    _check_host_indices(batch_indices, positions, kv_indices, kv_indptr, kv_last_page_len, num_pages, page_size)
    C.cuda_device(append_key=append_key, append_value=append_value, k_cache=k_cache, v_cache=v_cache,
                  batch_indices=batch_indices, positions=positions, kv_indices=kv_indices, kv_indptr=kv_indptr,
                  kv_last_page_len=kv_last_page_len)
    if nnz == 0 or num_kv_heads == 0 or head_dim == 0:
        return
    fn = get_kernel(AppendKVSpec(dtype=dtype))
    with torch.cuda.device(append_key.device):
        fn(append_key, append_value, batch_indices, positions, k_cache, v_cache, kv_indices, kv_indptr)


def _check_host_indices(batch_indices, positions, kv_indices, kv_indptr, kv_last_page_len, num_pages, page_size):
    """Range checks on whatever index tensors live on the CPU (no device sync)."""
    indptr = C.host_ints(kv_indptr)
    if indptr is not None:
        C.indptr_values("kv_indptr", indptr)
        if indptr[-1] > kv_indices.shape[0]:
            raise ValueError(f"kv_indptr[-1]={indptr[-1]} exceeds len(kv_indices)={kv_indices.shape[0]}")
    indices = C.host_ints(kv_indices)
    if indices is not None and indices and (min(indices) < 0 or max(indices) >= num_pages):
        raise ValueError(f"kv_indices must lie in [0, num_pages={num_pages}), got [{min(indices)}, {max(indices)}]")
    last = C.host_ints(kv_last_page_len)
    if last is not None and indptr is not None:
        for b, n in enumerate(last):
            if indptr[b + 1] > indptr[b] and not 1 <= n <= page_size:
                raise ValueError(f"kv_last_page_len[{b}]={n} must lie in [1, page_size={page_size}]")
    bi, pos = C.host_ints(batch_indices), C.host_ints(positions)
    batch = kv_indptr.shape[0] - 1
    if bi and (min(bi) < 0 or max(bi) >= batch):
        raise ValueError(f"batch_indices must lie in [0, batch={batch}), got [{min(bi)}, {max(bi)}]")
    if bi is not None and pos is not None and indptr is not None:
        for i, (b, p) in enumerate(zip(bi, pos)):
            capacity = (indptr[b + 1] - indptr[b]) * page_size
            if not 0 <= p < capacity:
                raise ValueError(
                    f"positions[{i}]={p} is outside request {b}'s pages (capacity {capacity} rows)"
                )
