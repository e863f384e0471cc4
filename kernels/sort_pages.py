"""The page ids a decode plan visits, each request's sorted (``plan(sort_pages=True)``, ``cute_attn/decode.py``).

Request ``b``'s pages are ``ids[indptr[b] : indptr[b + 1]]``; all but its last (partial) page are put in ascending order,
in chunks of ``CHUNK`` ids (a chunk per CTA: grid (batch, max chunks per request); a request longer than one chunk is
sorted chunk by chunk, which keeps the ascending sweep within each chunk), and the last page stays last.
``out`` may be ``ids`` (each CTA reads its range before it writes it; ranges are disjoint).

One CTA sorts its chunk with a bitonic network of ``size`` keys (the chunk's length rounded up to a power of two, at
least ``BLOCK``; padded with INT32_MAX). Session 21 rebuilt it around where each pass's compare-exchange distance ``j``
lives (the first kernel, sessions 12-20, ran every pass as one shared-memory loop over all slots with half of the 1024
threads idle and a barrier per pass: 160 us of GPU time for a 16384-id chunk on the H100, `bench/decode_sort_cost.py`).
Thread ``t`` owns the block of ``BLOCK`` consecutive keys ``16 t ..`` (so a warp owns 512 consecutive keys):

- ``j < BLOCK``: in the thread's registers;
- ``BLOCK <= j < WARP_KEYS``: between the registers of lanes ``l`` and ``l ^ (j / BLOCK)`` (a butterfly shuffle, each
  lane keeping the min or the max);
- ``j >= WARP_KEYS``: over shared memory, two adjacent distances per round trip where the stage has them (each thread
  takes ``QUAD`` keys at each of the four positions ``i, i + j, i + 2j, i + 3j`` of a group, j the smaller distance:
  16-byte accesses), a lone one with two positions; a CTA barrier after each.

So the first nine stages (up to 512 keys) run in registers straight from global memory, and each later stage is its
shared-memory round trips and one register phase (its passes below 512): 15 barriers for a full chunk (the first
kernel: 105). Shared memory holds key ``i`` at ``swizzle(i)`` (the 16-byte pieces of blocks ``2m`` and ``2m + 1``
XOR-ed by ``m % 4``), so the eight threads of a 16-byte shared-memory phase reach eight different bank groups both
when they load their blocks and when they take consecutive groups.

:func:`network_passes` lists the schedule; :func:`block_network` is a register phase (run by the kernel on DSL values;
:func:`sort_model` runs the schedule on the host with the same direction rules, ``tests/test_sort_network.py``).
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
WARP_KEYS = 32 * BLOCK  # keys a warp holds: distances below it never touch shared memory
LOG_WARP_KEYS = WARP_KEYS.bit_length() - 1
QUAD = 4  # keys per 16-byte shared-memory access
INT32_MAX = 2**31 - 1
assert CHUNK == BLOCK * THREADS and CHUNK & (CHUNK - 1) == 0 and CHUNK >= WARP_KEYS


def network_passes(log_size: int):
    """The bitonic network over ``2**log_size`` keys (``log_size >= LOG_BLOCK``) as the kernel runs it: a list of
    ``("block", k, passes)`` (a register phase: ``(k, j)`` pairs with ``j < WARP_KEYS``; the first one holds every stage
    up to ``min(size, WARP_KEYS)``, ``k`` its last) and ``("smem", k, js)`` (one shared-memory round trip: the passes
    ``js`` of stage ``k``, one distance or two adjacent ones)."""
    la = min(log_size, LOG_WARP_KEYS)
    first = [(1 << s, 1 << jj) for s in range(1, la + 1) for jj in range(s - 1, -1, -1)]
    out = [("block", 1 << la, first)]
    for s in range(LOG_WARP_KEYS + 1, log_size + 1):
        k = 1 << s
        js = [1 << jj for jj in range(s - 1, LOG_WARP_KEYS - 1, -1)]
        out += [("smem", k, tuple(js[i:i + 2])) for i in range(0, len(js), 2)]
        out.append(("block", k, [(k, 1 << jj) for jj in range(LOG_WARP_KEYS - 1, -1, -1)]))
    return out


def swizzle(i):
    """Where key ``i`` sits in shared memory (Python ints or DSL values): its 16-byte piece XOR-ed by bits 5-6."""
    return i ^ (((i >> 5) & 3) << 2)


def group_first(p, j, nbits):
    """The first key of shared-memory group ``p / QUAD`` of a round trip whose smaller distance is ``j``: ``p`` with
    ``nbits`` zero bits inserted at bit log2(j) (Python ints or DSL values)."""
    return (p & (j - 1)) | ((p & ~(j - 1)) << nbits)


def _bit(x, b: int):
    return (x >> (b.bit_length() - 1)) & 1


def exchange(x, y, asc, minf, maxf, select):
    """(x, y) in ascending order when ``asc``, else descending; ``asc`` a Python bool (fixed at trace time) or a
    runtime Boolean chosen by ``select(asc, a, b)`` (``minf`` / ``maxf`` / ``select``: Python's or the DSL's)."""
    lo, hi = minf(x, y), maxf(x, y)
    if isinstance(asc, bool):
        return (lo, hi) if asc else (hi, lo)
    return select(asc, lo, hi), select(asc, hi, lo)


def group_network(quads, js, asc, minf, maxf, select):
    """A shared-memory round trip's passes on one group: ``quads`` (2 or 4 lists of QUAD keys, at the positions
    ``i0 + j * a`` of :func:`group_first`, j = ``js[-1]``) after the passes ``js`` of a stage, in direction ``asc``."""
    j = js[-1]
    for jd in js:  # positions a and a + jd / j (a without that bit)
        step = jd // j
        for a in range(len(quads)):
            if a & step == 0:
                for e in range(QUAD):
                    quads[a][e], quads[a + step][e] = exchange(quads[a][e], quads[a + step][e], asc, minf, maxf, select)


def block_network(v, passes, base, shfl, minf, maxf, select):
    """One register phase: ``v`` (a list of the BLOCK keys ``base ..``, a lane's) after ``passes`` ((k, j) pairs).
    ``j < BLOCK`` pairs registers; ``j >= BLOCK`` pairs lanes (``shfl(x, j // BLOCK, r)``: the partner lane's x,
    register ``r``), each keeping the min when its key is the lower of the pair in an ascending run or the upper in a
    descending one. ``base`` is a Python int (host) or a DSL value (kernel); a direction that depends only on constants
    stays a Python bool."""
    v = list(v)
    for k, j in passes:
        if j >= BLOCK:
            keep_max = _bit(base, j) ^ _bit(base, k)
            for r in range(BLOCK):
                y = shfl(v[r], j // BLOCK, r)
                v[r] = select(keep_max == 0, minf(v[r], y), maxf(v[r], y))
            continue
        for r in range(BLOCK):
            if r & j:
                continue
            desc = _bit(base, k) if k >= BLOCK else int(bool(r & k))
            asc = desc == 0 if not isinstance(desc, int) else not desc
            v[r], v[r | j] = exchange(v[r], v[r | j], asc, minf, maxf, select)
    return v


def sort_model(keys: np.ndarray) -> np.ndarray:
    """The kernel's schedule on the host (``len(keys)`` a power of two >= BLOCK): register phases through
    :func:`block_network` (each warp's 32 blocks in lockstep for the shuffles), shared-memory groups as the kernel
    forms them. Returns the keys ascending."""
    a = [int(x) for x in keys]
    n = len(a)
    sel = lambda c, x, y: x if c else y  # noqa: E731
    for kind, k, arg in network_passes(n.bit_length() - 1):
        if kind == "block":
            lanes = min(32, n // BLOCK)
            for w in range(0, n // BLOCK, lanes):
                vs = [a[(w + l) * BLOCK:(w + l + 1) * BLOCK] for l in range(lanes)]
                for pas in arg:  # one pass at a time over the warp's lanes (a shuffle reads the partners' old keys)
                    old = [list(x) for x in vs]
                    for l in range(lanes):
                        shfl = lambda x, off, r, l=l: old[l ^ off][r]  # noqa: E731
                        vs[l] = block_network(old[l], [pas], (w + l) * BLOCK, shfl, min, max, sel)
                for l in range(lanes):
                    a[(w + l) * BLOCK:(w + l + 1) * BLOCK] = vs[l]
        else:
            j, nbits = arg[-1], len(arg)
            for g in range(n // (QUAD << nbits)):
                i0 = group_first(g * QUAD, j, nbits)
                quads = [a[i0 + j * pa:i0 + j * pa + QUAD] for pa in range(1 << nbits)]
                group_network(quads, arg, bool((i0 & k) == 0), min, max, sel)
                for pa, q in enumerate(quads):
                    a[i0 + j * pa:i0 + j * pa + QUAD] = q
    return np.array(a, dtype=np.int64)


def _select(c, x, y):
    return Int32(cutlass.select_(c, x, y))


def _shfl(x, off, r):
    return cute.arch.shuffle_sync_bfly(x, offset=off)


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

    def _vec(self, sKey: cute.Tensor, i: Int32):
        """The 16-byte piece of keys ``i .. i + 3`` (``i % 4 == 0``) in shared memory, as one tensor (trace time)."""
        ptr = cute.make_ptr(Int32, (sKey.iterator + swizzle(i)).toint(), cute.AddressSpace.smem, assumed_align=16)
        return cute.make_tensor(ptr, cute.make_layout(QUAD))

    def _piece(self, frag: cute.Tensor, pc: int):
        """Registers ``4 pc .. 4 pc + 3`` of ``frag`` as one tensor (trace time)."""
        return cute.make_tensor(frag.iterator + QUAD * pc, cute.make_layout(QUAD))

    def _register_phase(self, sKey: cute.Tensor, frag: cute.Tensor, base: Int32, passes, store):
        """``passes`` on the block in ``frag`` (keys ``base ..``), stored back to shared memory when ``store`` (trace
        time: Python loops unrolled)."""
        v = block_network([frag[i] for i in range(BLOCK)], passes, base, _shfl, cutlass.min, cutlass.max, _select)
        for i in range(BLOCK):
            frag[i] = v[i]
        if store:
            self._move_block(sKey, frag, base, True)

    def _move_block(self, sKey: cute.Tensor, frag: cute.Tensor, base: Int32, to_smem: bool):
        """The block of keys ``base ..`` between ``frag`` and shared memory, four 16-byte pieces (trace time)."""
        for pc in range(BLOCK // QUAD):
            reg, sh = self._piece(frag, pc), self._vec(sKey, base + QUAD * pc)
            src, dst = (reg, sh) if to_smem else (sh, reg)
            cute.autovec_copy(src, dst)

    def _smem_group(self, sKey: cute.Tensor, quads, g: Int32, k: int, js: tuple):
        """Group ``g`` of a shared-memory round trip of stage ``k``: the passes ``js`` (one distance, or two adjacent
        ones) on ``QUAD`` keys at each of the 2 or 4 positions they touch (trace time: Python loops unrolled)."""
        j, nbits = js[-1], len(js)  # the smaller distance: positions i0 + j * a, a < 2 ** nbits
        i0 = group_first(g * QUAD, j, nbits)
        pos = [i0 + j * a for a in range(1 << nbits)]
        regs = quads[:1 << nbits]
        for a in range(1 << nbits):
            cute.autovec_copy(self._vec(sKey, pos[a]), regs[a])
        vals = [[r[e] for e in range(QUAD)] for r in regs]
        group_network(vals, js, (i0 & k) == 0, cutlass.min, cutlass.max, _select)
        for a in range(1 << nbits):
            for e in range(QUAD):
                regs[a][e] = vals[a][e]
            cute.autovec_copy(regs[a], self._vec(sKey, pos[a]))

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
            # the first stages (up to min(size, 512) keys) from global memory in registers, one variant per size below
            # a warp's 512 keys; every lane of a warp runs them (the shuffles), blocks past the network padded, unstored
            for la in cutlass.range_constexpr(LOG_BLOCK, LOG_WARP_KEYS + 1):
                first = size == (1 << la)
                if cutlass.const_expr(la == LOG_WARP_KEYS):
                    first = size >= (1 << la)
                if first:
                    for blk in cutlass.range(tidx, cutlass.max(blocks, 32), THREADS, unroll=1):
                        base = blk * BLOCK
                        for i in cutlass.range_constexpr(BLOCK):
                            x = Int32(INT32_MAX)
                            if base + i < m:
                                x = mIds[lo + base + i]
                            frag[i] = x
                        self._register_phase(sKey, frag, base, network_passes(la)[0][2], False)
                        if blk < blocks:
                            self._move_block(sKey, frag, base, True)
            cute.arch.barrier()
            for kind, k, arg in network_passes(LOG_CHUNK)[1:]:
                if k <= size:  # the same for every thread (size >= 1024 here: whole warps of blocks)
                    if cutlass.const_expr(kind == "smem"):
                        for g in cutlass.range(tidx, size // (QUAD << len(arg)), THREADS, unroll=1):
                            self._smem_group(sKey, quads, g, k, arg)
                    else:
                        for blk in cutlass.range(tidx, blocks, THREADS, unroll=1):
                            base = blk * BLOCK
                            self._move_block(sKey, frag, base, False)
                            self._register_phase(sKey, frag, base, arg, True)
                    cute.arch.barrier()
            for i in cutlass.range(tidx, m, THREADS, unroll=1):
                mOut[lo + i] = sKey[swizzle(i)]


def compile_sort_pages(spec):
    """Compile the page-id sort. Runtime arguments: ``out`` (nnz,) int32, the addresses of ``ids`` (as long as
    ``out``) and ``indptr`` (batch + 1,) int32 (device memory), then ``batch`` and ``max_chunks`` int32. Stream:
    torch's current."""
    out = cute.runtime.make_fake_tensor(Int32, (cute.sym_int(),), stride=(1,), assumed_align=4)
    ptrs = [cute.runtime.make_ptr(Int32, 0, cute.AddressSpace.gmem, assumed_align=4) for _ in range(2)]
    return cute.compile(SortPagesKernel(), out, *ptrs, Int32(1), Int32(1),
                        cute.runtime.make_fake_stream(use_tvm_ffi_env_stream=True), options=COMPILE_OPTIONS)
