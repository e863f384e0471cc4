"""The page ids a decode plan visits, each request's sorted (``plan(sort_pages=True)``, ``cute_attn/decode.py``).

Request ``b``'s pages are ``ids[indptr[b] : indptr[b + 1]]``; all but its last (partial) page are put in ascending order,
in chunks of ``CHUNK`` ids (a chunk per CTA: grid (batch, max chunks per request); a request longer than one chunk is
sorted chunk by chunk, which keeps the ascending sweep within each chunk), and the last page stays last.
``out`` may be ``ids`` (each CTA reads its range before it writes it; ranges are disjoint).

One CTA sorts its chunk with a bitonic network of ``size`` keys (the chunk's length rounded up to a power of two, at
least ``BLOCK``; padded with INT32_MAX), split by the distance ``j`` of each pass's compare-exchanges (session 21; the
first kernel, sessions 12-20, ran every pass as one shared-memory loop of 1024 threads with half of them idle, ~150 us
for a 16384-id chunk on the H100):

- ``j < BLOCK``: inside a thread's block of ``BLOCK`` consecutive keys, in registers. A block is loaded once, given all
  of a stage's passes with ``j < BLOCK`` and stored once (the chunk's first ``log2(BLOCK)`` stages together, straight
  from global memory);
- ``j >= BLOCK``: a pass over shared memory, each thread taking ``QUAD`` adjacent pairs per step (16-byte loads and
  stores on both sides), a CTA barrier after it.

:func:`network_passes` lists that schedule and :func:`sort_model` runs it on the host (``tests/test_sort_network.py``
checks that it sorts); the kernel walks the same list at trace time.
"""

from __future__ import annotations

import cutlass
import cutlass.cute as cute
import numpy as np
from cutlass import Int32

from ..layouts.decode_work import SORT_PAGES_CHUNK as CHUNK

COMPILE_OPTIONS = "--enable-tvm-ffi --gpu-arch sm_90a"
THREADS = 1024
LOG_CHUNK = CHUNK.bit_length() - 1
BLOCK = 16  # keys a thread holds in registers (CHUNK / THREADS: every thread has one block of a full chunk)
LOG_BLOCK = BLOCK.bit_length() - 1
QUAD = 4  # adjacent compare-exchange pairs per thread and step of a shared-memory pass
INT32_MAX = 2**31 - 1
assert CHUNK == BLOCK * THREADS and CHUNK & (CHUNK - 1) == 0


def network_passes(log_size: int):
    """The bitonic network over ``2**log_size`` keys (``log_size >= LOG_BLOCK``) as the kernel runs it: a list of
    ``("block", k, js)`` (a register phase: every block gets passes ``js`` of stage ``k``; the first one holds stages
    ``2 .. BLOCK``, as ``js`` of ``(k, j)`` pairs) and ``("smem", k, j)`` (one shared-memory pass)."""
    first = [(1 << s, 1 << jj) for s in range(1, LOG_BLOCK + 1) for jj in range(s - 1, -1, -1)]
    out = [("block", None, first)]
    for s in range(LOG_BLOCK + 1, log_size + 1):
        k = 1 << s
        out += [("smem", k, 1 << jj) for jj in range(s - 1, LOG_BLOCK - 1, -1)]
        out.append(("block", k, [(k, 1 << jj) for jj in range(LOG_BLOCK - 1, -1, -1)]))
    return out


def sort_model(keys: np.ndarray) -> np.ndarray:
    """The kernel's network on the host (``len(keys)`` a power of two >= BLOCK): ascending keys."""
    a = np.array(keys, dtype=np.int64)
    n = len(a)
    idx = np.arange(n)
    for kind, _, passes in ((p[0], p[1], p[2] if p[0] == "block" else [(p[1], p[2])])
                            for p in network_passes(n.bit_length() - 1)):
        for k, j in passes:
            lo = idx[(idx & j) == 0]
            hi = lo | j
            asc = (lo & k) == 0
            x, y = a[lo], a[hi]
            a[lo] = np.where(asc, np.minimum(x, y), np.maximum(x, y))
            a[hi] = np.where(asc, np.maximum(x, y), np.minimum(x, y))
    return a


def _exchange(x, y, asc):
    """(x, y) in ascending order when ``asc`` (a Python bool: fixed at trace time, or a runtime Boolean), else
    descending (plain Python, run at trace time)."""
    lo = cutlass.min(x, y)
    hi = cutlass.max(x, y)
    if isinstance(asc, bool):
        return (lo, hi) if asc else (hi, lo)
    return Int32(cutlass.select_(asc, lo, hi)), Int32(cutlass.select_(asc, hi, lo))


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

    def _vec(self, sKey: cute.Tensor, off: Int32, n: cutlass.Constexpr):
        """``n`` keys of ``sKey`` from ``off`` (a multiple of 4: 16-byte aligned) as one tensor (trace time)."""
        ptr = cute.make_ptr(Int32, (sKey.iterator + off).toint(), cute.AddressSpace.smem, assumed_align=16)
        return cute.make_tensor(ptr, cute.make_layout(n))

    def _block_phase(self, sKey: cute.Tensor, frag: cute.Tensor, base: Int32, passes):
        """A register phase on the keys in ``frag`` (block at key ``base``): ``passes`` (k, j) in order; a pass's
        direction is fixed at trace time when its stage is shorter than a block, else ``base``'s bit ``k`` (trace
        time: Python loops unrolled)."""
        v = [frag[i] for i in range(BLOCK)]
        for kk, j in passes:
            asc_rt = (base & kk) == 0 if kk >= BLOCK else None
            for i in range(BLOCK):
                if i & j == 0:
                    asc = asc_rt if kk >= BLOCK else (i & kk) == 0
                    v[i], v[i | j] = _exchange(v[i], v[i | j], asc)
        for i in range(BLOCK):
            frag[i] = v[i]
        cute.autovec_copy(frag, self._vec(sKey, base, BLOCK))

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
            # the network's size: the next power of two >= m, at least one block, so a short request costs a short sort
            size = Int32(BLOCK)
            for _ in cutlass.range_constexpr(LOG_CHUNK - LOG_BLOCK):
                if size < m:
                    size = size * 2
            blocks = size // BLOCK
            smem = cutlass.utils.SmemAllocator()
            sKey = smem.allocate_tensor(Int32, cute.make_layout(CHUNK), byte_alignment=16)
            frag = cute.make_rmem_tensor((BLOCK,), Int32)
            qa = cute.make_rmem_tensor((QUAD,), Int32)
            qb = cute.make_rmem_tensor((QUAD,), Int32)
            schedule = network_passes(LOG_CHUNK)
            # stages 2 .. BLOCK: each block from global memory (INT32_MAX past the chunk), sorted alternately up and
            # down, into shared memory
            for blk in cutlass.range(tidx, blocks, THREADS, unroll=1):
                base = blk * BLOCK
                for i in cutlass.range_constexpr(BLOCK):
                    x = Int32(INT32_MAX)
                    if base + i < m:
                        x = mIds[lo + base + i]
                    frag[i] = x
                self._block_phase(sKey, frag, base, schedule[0][2])
            cute.arch.barrier()
            for kind, k, arg in schedule[1:]:
                if k <= size:  # the same for every thread
                    if cutlass.const_expr(kind == "smem"):
                        j = arg
                        for q in cutlass.range(tidx, size // (2 * QUAD), THREADS, unroll=1):
                            p = q * QUAD
                            i0 = (p & (j - 1)) | ((p & ~(j - 1)) << 1)  # pair p's lower key: bit log2(j) cleared
                            asc = (i0 & k) == 0
                            cute.autovec_copy(self._vec(sKey, i0, QUAD), qa)
                            cute.autovec_copy(self._vec(sKey, i0 + j, QUAD), qb)
                            for r in cutlass.range_constexpr(QUAD):
                                qa[r], qb[r] = _exchange(qa[r], qb[r], asc)
                            cute.autovec_copy(qa, self._vec(sKey, i0, QUAD))
                            cute.autovec_copy(qb, self._vec(sKey, i0 + j, QUAD))
                    else:
                        for blk in cutlass.range(tidx, blocks, THREADS, unroll=1):
                            base = blk * BLOCK
                            cute.autovec_copy(self._vec(sKey, base, BLOCK), frag)
                            self._block_phase(sKey, frag, base, arg)
                    cute.arch.barrier()
            for i in cutlass.range(tidx, m, THREADS, unroll=1):
                mOut[lo + i] = sKey[i]


def compile_sort_pages(spec):
    """Compile the page-id sort. Runtime arguments: ``out`` (nnz,) int32, the addresses of ``ids`` (as long as
    ``out``) and ``indptr`` (batch + 1,) int32 (device memory), then ``batch`` and ``max_chunks`` int32. Stream:
    torch's current."""
    out = cute.runtime.make_fake_tensor(Int32, (cute.sym_int(),), stride=(1,), assumed_align=4)
    ptrs = [cute.runtime.make_ptr(Int32, 0, cute.AddressSpace.gmem, assumed_align=4) for _ in range(2)]
    return cute.compile(SortPagesKernel(), out, *ptrs, Int32(1), Int32(1),
                        cute.runtime.make_fake_stream(use_tvm_ffi_env_stream=True), options=COMPILE_OPTIONS)
