"""The page ids a decode plan visits, each request's sorted (``plan(sort_pages=True)``, ``cute_attn/decode.py``).

Request ``b``'s pages are ``ids[indptr[b] : indptr[b + 1]]``; all but its last (partial) page are put in ascending order,
in chunks of ``CHUNK`` ids (a chunk per CTA: grid (batch, max chunks per request); a request longer than one chunk is
sorted chunk by chunk, which keeps the ascending sweep within each chunk), and the last page stays last. One CTA: the
chunk into shared memory (padded with INT32_MAX to the next power of two, ``size``), a bitonic sort (log2(size) *
(log2(size) + 1) / 2 compare-exchange passes over the size / THREADS ids each thread owns, a CTA barrier after each),
the chunk back.
``out`` may be ``ids`` (each CTA reads its range before it writes it; ranges are disjoint).
"""

from __future__ import annotations

import cutlass
import cutlass.cute as cute
from cutlass import Int32

from ..layouts.decode_work import SORT_PAGES_CHUNK as CHUNK

COMPILE_OPTIONS = "--enable-tvm-ffi --gpu-arch sm_90a"
THREADS = 1024
LOG_CHUNK = CHUNK.bit_length() - 1
INT32_MAX = 2**31 - 1


class SortPagesKernel:
    @cute.jit
    def __call__(self, mOut: cute.Tensor, pIds: cute.Pointer, pIndptr: cute.Pointer, batch: Int32, max_chunks: Int32,
                 stream):
        """``mOut`` (nnz,) int32 (a tensor: the launch's device and stream come from it), the others addresses (one
        tensor conversion on plan()'s host path instead of three, session 17): ``pIds`` (nnz,) int32, ``pIndptr``
        (batch + 1,) int32; ``max_chunks`` >= the largest ``ceil((pages - 1) / CHUNK)`` (at least 1)."""
        mIds = cute.make_tensor(pIds, mOut.layout)
        mIndptr = cute.make_tensor(pIndptr, cute.make_layout((batch + 1,), stride=(1,)))
        self.kernel(mIds, mOut, mIndptr).launch(
            grid=[batch, max_chunks, 1], block=[THREADS, 1, 1], stream=stream, smem=CHUNK * 4)

    @cute.kernel
    def kernel(self, mIds: cute.Tensor, mOut: cute.Tensor, mIndptr: cute.Tensor):
        tidx, _, _ = cute.arch.thread_idx()
        b, c, _ = cute.arch.block_idx()
        start = mIndptr[b]
        end = mIndptr[b + 1]
        if c == 0 and tidx == 0 and end > start:
            mOut[end - 1] = mIds[end - 1]
        lo = start + c * CHUNK
        n = end - 1 - lo  # ids of this chunk still to sort (the last page excluded)
        if n > 0:  # the same for every thread of the CTA
            m = cutlass.min(n, CHUNK)
            # the sort's size: the next power of two >= m (>= 2), so a short request costs a short sort
            size = Int32(2)
            for _ in cutlass.range_constexpr(LOG_CHUNK - 1):
                if size < m:
                    size = size * 2
            smem = cutlass.utils.SmemAllocator()
            sKey = smem.allocate_tensor(Int32, cute.make_layout(CHUNK), byte_alignment=16)
            for i in cutlass.range(0, size, THREADS, unroll=1):
                j = tidx + i
                if j < size:
                    v = Int32(INT32_MAX)
                    if j < m:
                        v = mIds[lo + j]
                    sKey[j] = v
            cute.arch.barrier()
            for kk in cutlass.range_constexpr(LOG_CHUNK):
                k = 2 << kk
                if k <= size:  # the same for every thread
                    for jj in cutlass.range_constexpr(kk + 1):
                        step = k >> (jj + 1)
                        for i in cutlass.range(0, size, THREADS, unroll=1):
                            idx = tidx + i
                            other = idx ^ step
                            if other > idx and other < size:
                                a = sKey[idx]
                                z = sKey[other]
                                if (a > z) == ((idx & k) == 0):  # ascending where bit k of idx is 0
                                    sKey[idx] = z
                                    sKey[other] = a
                        cute.arch.barrier()
            for i in cutlass.range(0, m, THREADS, unroll=1):
                j = tidx + i
                if j < m:
                    mOut[lo + j] = sKey[j]


def compile_sort_pages(spec):
    """Compile the page-id sort. Runtime arguments: ``out`` (nnz,) int32, the addresses of ``ids`` (as long as
    ``out``) and ``indptr`` (batch + 1,) int32 (device memory), then ``batch`` and ``max_chunks`` int32. Stream:
    torch's current."""
    out = cute.runtime.make_fake_tensor(Int32, (cute.sym_int(),), stride=(1,), assumed_align=4)
    ptrs = [cute.runtime.make_ptr(Int32, 0, cute.AddressSpace.gmem, assumed_align=4) for _ in range(2)]
    return cute.compile(SortPagesKernel(), out, *ptrs, Int32(1), Int32(1),
                        cute.runtime.make_fake_stream(use_tvm_ffi_env_stream=True), options=COMPILE_OPTIONS)
