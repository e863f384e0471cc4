"""The page ids a decode plan visits, each request's sorted (``plan(sort_pages=True)``, ``cute_attn/decode.py``).

Request ``b``'s pages are ``ids[indptr[b] : indptr[b + 1]]``; all but its last (partial) page are put in ascending order,
in chunks of ``CHUNK`` ids (a chunk per CTA: grid (batch, max chunks per request); a request longer than one chunk is
sorted chunk by chunk, which keeps the ascending sweep within each chunk), and the last page stays last.
``out`` may be ``ids`` (each CTA reads its range before it writes it; ranges are disjoint).

One CTA sorts its chunk with a bitonic network of ``size`` keys (the chunk's length rounded up to a power of two, at
least ``BLOCK``; padded with INT32_MAX), split by the distance ``j`` of each pass's compare-exchanges (session 21; the
first kernel, sessions 12-20, ran every pass as one shared-memory loop of 1024 threads with half of them idle: 161 us
for a 16384-id chunk on the H100, `bench/decode_sort_cost.py`):

- ``j < BLOCK``: inside a thread's block of ``BLOCK`` consecutive keys, in registers. A block is loaded once, given all
  of a stage's passes with ``j < BLOCK`` and stored once (the chunk's first ``log2(BLOCK)`` stages together, straight
  from global memory). A thread moves its block's four 16-byte pieces in an order rotated by ``rot`` (``block_rot``),
  so that the eight threads of a shared-memory phase touch eight different bank groups (in block order, the pieces of
  eight 64-byte blocks fall into two): register ``r`` then holds the block's key ``r ^ 4 * rot``, and the network's
  directions are taken from that logical position (:func:`block_network`);
- ``j >= BLOCK``: passes over shared memory, two adjacent distances per round trip where the stage has them (each
  thread takes ``QUAD`` keys at each of the four positions ``i, i + j/2, i + j, i + 3j/2``: 16-byte accesses), a lone
  one with two positions; a CTA barrier after each.

:func:`network_passes` lists that schedule, :func:`block_network` is the register phase (run by the kernel on DSL
values and by :func:`sort_model` on Python ints: ``tests/test_sort_network.py`` checks that the model sorts).
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
QUAD = 4  # keys per 16-byte shared-memory access
PIECES = BLOCK // QUAD
INT32_MAX = 2**31 - 1
assert CHUNK == BLOCK * THREADS and CHUNK & (CHUNK - 1) == 0 and PIECES == 4


def network_passes(log_size: int):
    """The bitonic network over ``2**log_size`` keys (``log_size >= LOG_BLOCK``) as the kernel runs it: a list of
    ``("block", k, passes)`` (a register phase: every block gets ``passes``, ``(k, j)`` pairs; the first phase holds
    stages ``2 .. BLOCK``) and ``("smem", k, js)`` (one shared-memory round trip: the passes ``j`` in ``js`` of stage
    ``k``, one or two adjacent distances)."""
    first = [(1 << s, 1 << jj) for s in range(1, LOG_BLOCK + 1) for jj in range(s - 1, -1, -1)]
    out = [("block", None, first)]
    for s in range(LOG_BLOCK + 1, log_size + 1):
        k = 1 << s
        js = [1 << jj for jj in range(s - 1, LOG_BLOCK - 1, -1)]
        out += [("smem", k, tuple(js[i:i + 2])) for i in range(0, len(js), 2)]
        out.append(("block", k, [(k, 1 << jj) for jj in range(LOG_BLOCK - 1, -1, -1)]))
    return out


def block_rot(blk):
    """The piece rotation of block ``blk``: blocks 2m and 2m + 1 share a 128-byte row of banks, so eight consecutive
    blocks need four different rotations."""
    return (blk >> 1) & 3


def block_network(v, passes, rot, base, minf, maxf, select):
    """One register phase: ``v`` (a list of BLOCK keys; register ``r`` holds the block's key ``r ^ 4 * rot``, the
    block starting at key ``base``) after ``passes`` ((k, j) pairs, j < BLOCK). ``rot`` and ``base`` are Python ints
    (the host model) or DSL values (the kernel); a direction that depends only on constants stays a Python bool."""
    v = list(v)
    rbit = {4: rot & 1, 8: (rot >> 1) & 1}  # bit x of 4 * rot
    for k, j in passes:
        for r in range(BLOCK):
            if r & j:
                continue
            # bit k of the logical key index of register r, and whether r holds the upper key of the pair (j of 4 rot)
            bk = (base >> (k.bit_length() - 1)) & 1 if k >= BLOCK else int(bool(r & k)) ^ rbit.get(k, 0)
            desc = bk ^ rbit.get(j, 0)
            x, y = v[r], v[r | j]
            lo, hi = minf(x, y), maxf(x, y)
            if isinstance(desc, int):
                v[r], v[r | j] = (hi, lo) if desc else (lo, hi)
            else:
                asc = desc == 0
                v[r], v[r | j] = select(asc, lo, hi), select(asc, hi, lo)
    return v


def sort_model(keys: np.ndarray) -> np.ndarray:
    """The kernel's network on the host (``len(keys)`` a power of two >= BLOCK), with its register phases as the
    kernel runs them (rotated pieces, :func:`block_network`): ascending keys."""
    a = [int(x) for x in keys]
    n = len(a)
    sel = lambda c, x, y: x if c else y  # noqa: E731
    for kind, k, arg in network_passes(n.bit_length() - 1):
        if kind == "block":
            for blk in range(n // BLOCK):
                base, rot = blk * BLOCK, block_rot(blk)
                order = [base + ((r ^ 4 * rot)) for r in range(BLOCK)]
                out = block_network([a[i] for i in order], arg, rot, base, min, max, sel)
                for i, x in zip(order, out):
                    a[i] = x
        else:
            j, nbits = arg[-1], len(arg)
            for g in range(n // (QUAD << nbits)):
                i0 = group_first(g * QUAD, j, nbits)
                asc = (i0 & k) == 0
                for jd in arg:
                    step = jd // j
                    for pa in range(1 << nbits):
                        if pa & step == 0:
                            for e in range(QUAD):
                                x, y = i0 + j * pa + e, i0 + j * (pa + step) + e
                                lo, hi = min(a[x], a[y]), max(a[x], a[y])
                                a[x], a[y] = (lo, hi) if asc else (hi, lo)
    return np.array(a, dtype=np.int64)


def group_first(p, j, nbits):
    """The first key of shared-memory group ``p / QUAD`` of a round trip whose smaller distance is ``j``: ``p`` with
    ``nbits`` zero bits inserted at bit log2(j) (Python ints or DSL values)."""
    return (p & (j - 1)) | ((p & ~(j - 1)) << nbits)


def _exchange(x, y, asc):
    """(x, y) in ascending order when ``asc`` (a Python bool: fixed at trace time, or a runtime Boolean), else
    descending (plain Python, run at trace time)."""
    lo = cutlass.min(x, y)
    hi = cutlass.max(x, y)
    if isinstance(asc, bool):
        return (lo, hi) if asc else (hi, lo)
    return Int32(cutlass.select_(asc, lo, hi)), Int32(cutlass.select_(asc, hi, lo))


def _select(c, x, y):
    return Int32(cutlass.select_(c, x, y))


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

    def _block_phase(self, sKey: cute.Tensor, frag: cute.Tensor, base: Int32, rot: Int32, passes):
        """A register phase on the keys in ``frag`` (block at key ``base``, pieces rotated by ``rot``), stored back to
        shared memory the same way (trace time: Python loops unrolled)."""
        v = block_network([frag[i] for i in range(BLOCK)], passes, rot, base, cutlass.min, cutlass.max, _select)
        for i in range(BLOCK):
            frag[i] = v[i]
        for pc in range(PIECES):
            cute.autovec_copy(self._piece(frag, pc), self._vec(sKey, base + QUAD * (pc ^ rot), QUAD))

    def _piece(self, frag: cute.Tensor, pc: int):
        """Registers ``4 pc .. 4 pc + 3`` of ``frag`` as one tensor (trace time)."""
        return cute.make_tensor(frag.iterator + QUAD * pc, cute.make_layout(QUAD))

    def _smem_group(self, sKey: cute.Tensor, quads, g: Int32, k: int, js: tuple):
        """Group ``g`` of a shared-memory round trip of stage ``k``: the passes ``js`` (one distance, or two adjacent
        ones) on ``QUAD`` keys at each of the 2 or 4 positions they touch (trace time: Python loops unrolled)."""
        j, nbits = js[-1], len(js)  # the smaller distance: positions i0 + j * a, a < 2 ** nbits
        i0 = group_first(g * QUAD, j, nbits)
        asc = (i0 & k) == 0
        pos = [i0 + j * a for a in range(1 << nbits)]
        for a in range(1 << nbits):
            cute.autovec_copy(self._vec(sKey, pos[a], QUAD), quads[a])
        for jd in js:  # positions a and a + jd / j (a without that bit)
            step = jd // j
            for a in range(1 << nbits):
                if a & step == 0:
                    for e in range(QUAD):
                        quads[a][e], quads[a + step][e] = _exchange(quads[a][e], quads[a + step][e], asc)
        for a in range(1 << nbits):
            cute.autovec_copy(quads[a], self._vec(sKey, pos[a], QUAD))

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
            quads = [cute.make_rmem_tensor((QUAD,), Int32) for _ in range(4)]
            schedule = network_passes(LOG_CHUNK)
            # stages 2 .. BLOCK: each block from global memory (INT32_MAX past the chunk), sorted alternately up and
            # down, into shared memory
            for blk in cutlass.range(tidx, blocks, THREADS, unroll=1):
                base = blk * BLOCK
                rot = block_rot(blk)
                for pc in cutlass.range_constexpr(PIECES):
                    for e in cutlass.range_constexpr(QUAD):
                        i = base + QUAD * (pc ^ rot) + e
                        x = Int32(INT32_MAX)
                        if i < m:
                            x = mIds[lo + i]
                        frag[QUAD * pc + e] = x
                self._block_phase(sKey, frag, base, rot, schedule[0][2])
            cute.arch.barrier()
            for kind, k, arg in schedule[1:]:
                if k <= size:  # the same for every thread
                    if cutlass.const_expr(kind == "smem"):
                        for g in cutlass.range(tidx, size // (QUAD << len(arg)), THREADS, unroll=1):
                            self._smem_group(sKey, quads, g, k, arg)
                    else:
                        for blk in cutlass.range(tidx, blocks, THREADS, unroll=1):
                            base = blk * BLOCK
                            rot = block_rot(blk)
                            for pc in cutlass.range_constexpr(PIECES):
                                cute.autovec_copy(self._vec(sKey, base + QUAD * (pc ^ rot), QUAD), self._piece(frag, pc))
                            self._block_phase(sKey, frag, base, rot, arg)
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
