"""Append new K/V rows to a paged KV cache on sm_90a: a memory-bound scatter with 16-byte accesses.

``compile_append_kv(spec)`` compiles :class:`AppendPagedKVKernel` for ``spec.dtype``; every size
(nnz, heads, head dim, page size, page counts, batch) and every stride except the last is a runtime
value, so one artifact serves NHD caches and HND caches (passed as a permuted NHD view) alike.
"""

from __future__ import annotations

import cutlass
import cutlass.cute as cute
from cutlass import Int32

CHUNK_BITS = 128  # one global access per thread and instruction: ld/st.global.v4.b32
DTYPES = {"bf16": cutlass.BFloat16, "fp16": cutlass.Float16}
COMPILE_OPTIONS = "--enable-tvm-ffi --gpu-arch sm_90a"


def _chunk_of(mX: cute.Tensor, coord: tuple, chunk, chunk_elems: int) -> cute.Tensor:
    """The ``chunk``-th run of ``chunk_elems`` contiguous elements of ``mX[*coord, :]``."""
    return cute.local_tile(mX[(*coord, None)], (chunk_elems,), (chunk,))


def _fake_rows(dtype, shape: tuple) -> cute.Tensor:
    """Contiguous last dim, other strides runtime multiples of 16 bytes, 16-byte aligned base."""
    div = CHUNK_BITS // dtype.width
    stride = tuple(cute.sym_int64(divisibility=div) for _ in shape[:-1]) + (1,)
    return cute.runtime.make_fake_tensor(dtype, shape, stride=stride, assumed_align=CHUNK_BITS // 8)


def _fake_index_vector(length) -> cute.Tensor:
    """An int32 index vector: contiguous."""
    return cute.runtime.make_fake_compact_tensor(Int32, (length,), assumed_align=4)


class AppendPagedKVKernel:
    """Scatter ``k_new[i]``/``v_new[i]`` to row ``positions[i]`` of request ``batch_indices[i]``'s pages.

    Work decomposition (no shared memory, no synchronization):

    ============  ==================================================================================
    chunk         16 bytes of one head of one row: ``chunk_elems`` (8) contiguous elements
    thread        one chunk column ``col`` (head, chunk) of ``rows_per_thread`` consecutive rows,
                  for K and for V: ``2 * rows_per_thread`` 16-byte loads in flight
    warp / CTA    ``num_threads`` consecutive global thread ids; thread ``g`` takes column
                  ``g % chunks_per_row`` of row group ``g // chunks_per_row``, so a warp reads and
                  writes contiguous runs of each row (coalesced for any heads x head_dim)
    grid          ``ceil(ceil(nnz / rows_per_thread) * chunks_per_row / num_threads)`` CTAs
    ============  ==================================================================================

    Per-thread timeline: (1) issue every K/V load of its rows; (2) walk the page table once per row,
    each step's loads issued for all rows before any is used: request and position, its pages
    ``kv_indptr[b], kv_indptr[b+1]``, the page id ``kv_indices[kv_indptr[b] + p // page_size]``;
    (3) store each valid row to slot ``p % page_size`` of its page. Every load comes before the first
    store on purpose: the compiler cannot move a load above a store that might alias it.

    A row is skipped (nothing written) when it falls outside the page table or the cache: request
    outside ``[0, batch)``, negative position, page slot past ``kv_indptr[b+1]`` or outside
    ``kv_indices``, page id outside ``[0, num_pages)``.

    Limits: thread ids and index values are int32 (``ceil(nnz / 4) * h_k * d / 8 < 2**31``); element
    offsets are int64, so the cache may exceed 2**31 elements.
    """

    def __init__(self, dtype: type[cutlass.Numeric], rows_per_thread: int = 4, num_threads: int = 128):
        self.dtype = dtype
        self.chunk_elems = CHUNK_BITS // dtype.width
        self.rows_per_thread = rows_per_thread
        self.num_threads = num_threads

    @cute.jit
    def __call__(
        self,
        mK: cute.Tensor,
        mV: cute.Tensor,
        mBatch: cute.Tensor,
        mPos: cute.Tensor,
        mKCache: cute.Tensor,
        mVCache: cute.Tensor,
        mIndices: cute.Tensor,
        mIndptr: cute.Tensor,
        stream,
    ):
        nnz, num_heads, head_dim = mK.shape
        chunks_per_row = num_heads * (head_dim // self.chunk_elems)
        row_groups = cute.ceil_div(nnz, self.rows_per_thread)
        grid = cute.ceil_div(row_groups * chunks_per_row, self.num_threads)
        # Nothing to append (nnz, heads or head_dim 0) or nowhere to put it (no page slots, no page
        # table): launch nothing. The kernel then may divide by page_size and read kv_indptr[0].
        if grid > 0 and mKCache.shape[1] > 0 and mIndptr.shape[0] > 0:
            self.kernel(mK, mV, mBatch, mPos, mKCache, mVCache, mIndices, mIndptr).launch(
                grid=[grid, 1, 1], block=[self.num_threads, 1, 1], stream=stream
            )

    @cute.kernel
    def kernel(
        self,
        mK: cute.Tensor,
        mV: cute.Tensor,
        mBatch: cute.Tensor,
        mPos: cute.Tensor,
        mKCache: cute.Tensor,
        mVCache: cute.Tensor,
        mIndices: cute.Tensor,
        mIndptr: cute.Tensor,
    ):
        tidx, _, _ = cute.arch.thread_idx()
        bidx, _, _ = cute.arch.block_idx()
        nnz, num_heads, head_dim = mK.shape
        num_pages, page_size = mKCache.shape[0], mKCache.shape[1]
        batch = mIndptr.shape[0] - 1
        num_indices = mIndices.shape[0]
        chunks_per_head = head_dim // self.chunk_elems
        chunks_per_row = num_heads * chunks_per_head

        g = bidx * self.num_threads + tidx
        col = g % chunks_per_row
        head = col // chunks_per_head
        chunk = col % chunks_per_head
        row0 = (g // chunks_per_row) * self.rows_per_thread
        atom = cute.make_copy_atom(cute.nvgpu.CopyUniversalOp(), self.dtype, num_bits_per_copy=CHUNK_BITS)
        U = self.rows_per_thread

        if row0 < nnz:
            rows = [cutlass.min(row0 + u, nnz - 1) for u in range(U)]
            tKrK = [cute.make_rmem_tensor((self.chunk_elems,), self.dtype) for _ in range(U)]
            tVrV = [cute.make_rmem_tensor((self.chunk_elems,), self.dtype) for _ in range(U)]
            for u in cutlass.range_constexpr(U):
                cute.copy(atom, _chunk_of(mK, (rows[u], head), chunk, self.chunk_elems), tKrK[u])
                cute.copy(atom, _chunk_of(mV, (rows[u], head), chunk, self.chunk_elems), tVrV[u])

            # Page table walk; an invalid row reads in-bounds stand-ins (request 0) and is not stored.
            req = [mBatch[rows[u]] for u in range(U)]
            pos = [mPos[rows[u]] for u in range(U)]
            valid = [(row0 + u < nnz) & (req[u] >= 0) & (req[u] < batch) & (pos[u] >= 0) for u in range(U)]
            req = [Int32(cutlass.select_(valid[u], req[u], 0)) for u in range(U)]
            pos = [Int32(cutlass.select_(valid[u], pos[u], 0)) for u in range(U)]
            first = [mIndptr[req[u]] for u in range(U)]
            end = [mIndptr[cutlass.min(req[u] + 1, batch)] for u in range(U)]
            entry = [first[u] + pos[u] // page_size for u in range(U)]  # index into kv_indices
            valid = [
                valid[u] & (entry[u] >= 0) & (entry[u] < end[u]) & (entry[u] < num_indices) for u in range(U)
            ]
            pages = []
            for u in cutlass.range_constexpr(U):
                page = Int32(-1)
                if valid[u]:
                    page = mIndices[entry[u]]
                pages.append(page)

            for u in cutlass.range_constexpr(U):
                if valid[u] & (pages[u] >= 0) & (pages[u] < num_pages):
                    dst = (pages[u], pos[u] % page_size, head)
                    cute.copy(atom, tKrK[u], _chunk_of(mKCache, dst, chunk, self.chunk_elems))
                    cute.copy(atom, tVrV[u], _chunk_of(mVCache, dst, chunk, self.chunk_elems))


def compile_append_kv(spec):
    """Compile the append kernel for ``spec.dtype`` ("bf16"/"fp16"). Runtime arguments, in order:
    ``k_new, v_new`` (nnz, h_k, d); ``batch_indices, positions`` (nnz,) int32; ``k_cache, v_cache``
    (num_pages, page_size, h_k, d); ``kv_indices`` (num_indices,) int32; ``kv_indptr`` (batch+1,) int32.
    The stream is torch's current stream."""
    dtype = DTYPES[spec.dtype]
    nnz, num_heads, num_pages, page_size = cute.sym_int(), cute.sym_int(), cute.sym_int(), cute.sym_int()
    head_dim = cute.sym_int(divisibility=CHUNK_BITS // dtype.width)
    k_new = _fake_rows(dtype, (nnz, num_heads, head_dim))
    v_new = _fake_rows(dtype, (nnz, num_heads, head_dim))
    k_cache = _fake_rows(dtype, (num_pages, page_size, num_heads, head_dim))
    v_cache = _fake_rows(dtype, (num_pages, page_size, num_heads, head_dim))
    batch_indices = _fake_index_vector(nnz)
    positions = _fake_index_vector(nnz)
    kv_indices = _fake_index_vector(cute.sym_int())
    kv_indptr = _fake_index_vector(cute.sym_int())
    return cute.compile(
        AppendPagedKVKernel(dtype),
        k_new, v_new, batch_indices, positions, k_cache, v_cache, kv_indices, kv_indptr,
        cute.runtime.make_fake_stream(use_tvm_ffi_env_stream=True),
        options=COMPILE_OPTIONS,
    )
