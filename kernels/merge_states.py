"""Merge partial attention states on sm_90a: memory-bound, 16-byte accesses, fp32 math.

A partial state is an output ``v`` (bf16/fp16) over a subset of the keys with the natural-log LSE ``s``
(fp32) of its scaled scores. Merged: ``s = log(sum_i exp(s_i))``, ``v = sum_i exp(s_i - s) v_i``. An LSE
of ``-inf`` marks an empty part: weight 0, and its ``v`` adds nothing even if it holds NaN or inf; if
every part is empty the result is ``v = 0``, ``s = -inf``. +inf or NaN LSEs are not supported.

``compile_merge_state(spec)``: two parts in separate tensors; ``compile_merge_states(spec)``: ``k``
parts stacked in dim 1. Every size and every stride except the last of the value tensors is runtime.
"""

from __future__ import annotations

import math

import cutlass
import cutlass.cute as cute
from cutlass import Float32, Int32

CHUNK_BITS = 128  # one global access per thread and instruction: ld/st.global.v4.b32
DTYPES = {"bf16": cutlass.BFloat16, "fp16": cutlass.Float16}
COMPILE_OPTIONS = "--enable-tvm-ffi --gpu-arch sm_90a"
LOG2_E = math.log2(math.e)
LN_2 = math.log(2.0)


class _MergeKernelBase:
    """Shared work decomposition and epilogue of the merge kernels.

    ============  ==================================================================================
    chunk         16 bytes of one (row, head) value vector: ``chunk_elems`` (8) contiguous elements
    thread        one chunk of one (row, head) pair, for every part: loads that chunk of each part,
                  accumulates ``w_i * v_i`` in fp32
    warp / CTA    ``num_threads`` consecutive global thread ids; thread ``g`` takes chunk
                  ``g % chunks_per_head`` of pair ``g // chunks_per_head`` (pairs row-major), so a
                  warp reads and writes contiguous runs of each value vector
    grid          ``ceil(n * h * chunks_per_head / num_threads)`` CTAs
    ============  ==================================================================================

    No shared memory, no synchronization. The LSEs of a pair are read by each of its
    ``chunks_per_head`` threads (a broadcast within the warp); chunk 0's thread writes the LSE.
    Math (fp32): ``m = max_i s_i`` (0 when every part is empty), ``w_i = exp2((s_i - m) * log2(e))``
    (1 for the largest part, so ``W = sum_i w_i >= 1`` unless every part is empty, then 0);
    ``v = sum_i w_i v_i / W``, ``s = m + log2(W) * ln(2)``; ``W == 0`` gives ``v = 0, s = -inf``.

    Limits: thread ids are int32 (``n * h * d / 8 < 2**31``); element offsets are int64.
    """

    def __init__(self, dtype: type[cutlass.Numeric], num_threads: int = 128):
        self.dtype = dtype
        self.chunk_elems = CHUNK_BITS // dtype.width
        self.num_threads = num_threads

    def _copy_atom(self):
        return cute.make_copy_atom(cute.nvgpu.CopyUniversalOp(), self.dtype, num_bits_per_copy=CHUNK_BITS)

    def _grid(self, rows, num_heads, head_dim):
        """CTAs for one thread per chunk; 0 when the output is empty."""
        return cute.ceil_div(rows * num_heads * (head_dim // self.chunk_elems), self.num_threads)

    def _thread_coords(self, num_heads, head_dim):
        """(row, head, chunk, pair) of this thread; ``pair`` >= rows * num_heads means no work."""
        tidx, _, _ = cute.arch.thread_idx()
        bidx, _, _ = cute.arch.block_idx()
        chunks_per_head = head_dim // self.chunk_elems
        g = bidx * self.num_threads + tidx
        pair = g // chunks_per_head
        return pair // num_heads, pair % num_heads, g % chunks_per_head, pair

    def _chunk(self, mX: cute.Tensor, coord: tuple, chunk) -> cute.Tensor:
        """The ``chunk``-th run of ``chunk_elems`` contiguous elements of ``mX[*coord, :]``."""
        return cute.local_tile(mX[(*coord, None)], (self.chunk_elems,), (chunk,))

    def _weight(self, lse: Float32, max_lse: Float32) -> Float32:
        """exp(lse - max_lse) as exp2: the unnormalized weight of a part (0 for an empty part). The
        difference is taken first, in natural units, so that a large LSE loses no precision."""
        return cute.math.exp2((lse - max_lse) * LOG2_E, fastmath=True)

    def _safe_max(self, max_lse: Float32) -> Float32:
        """The max LSE, or 0 when every part is empty (so weights are exp(-inf) = 0, not NaN)."""
        return Float32(cutlass.select_(max_lse == -math.inf, Float32(0.0), max_lse))

    def _accumulate(self, tAcc: cute.Tensor, tVr: cute.Tensor, w: Float32):
        """tAcc += w * v; an empty part (w == 0) leaves tAcc as it is, whatever its values hold. A
        select, not a branch: a branch would let the compiler sink the value load behind the LSE."""
        keep = cute.full((self.chunk_elems,), w > Float32(0.0), cutlass.Boolean)
        tAcc.store(tAcc.load() + cute.where(keep, tVr.load().to(Float32) * w, Float32(0.0)))

    @cute.jit
    def _epilogue(self, mO, mLSE, row, head, chunk, tAcc: cute.Tensor, total: Float32, max_lse: Float32):
        """Normalize and store the chunk; chunk 0's thread also stores the merged LSE."""
        nonempty = total > Float32(0.0)
        inv = Float32(cutlass.select_(nonempty, 1.0 / total, Float32(0.0)))
        tOr = cute.make_rmem_tensor((self.chunk_elems,), self.dtype)
        tOr.store((tAcc.load() * inv).to(self.dtype))
        cute.copy(self._copy_atom(), tOr, self._chunk(mO, (row, head), chunk))
        if chunk == 0:
            lse = max_lse + cute.math.log2(total, fastmath=True) * LN_2
            mLSE[row, head] = Float32(cutlass.select_(nonempty, lse, -math.inf))


class MergeStateKernel(_MergeKernelBase):
    """Merge two partial states given as separate tensors: ``(v_a, s_a)`` and ``(v_b, s_b)``.

    Per-thread timeline: load both LSEs and both value chunks (two 16-byte loads in flight), weights,
    fp32 accumulate, normalize, one 16-byte store (+ the LSE store for chunk 0).
    """

    @cute.jit
    def __call__(
        self,
        mVa: cute.Tensor,
        mSa: cute.Tensor,
        mVb: cute.Tensor,
        mSb: cute.Tensor,
        mO: cute.Tensor,
        mLSE: cute.Tensor,
        stream,
    ):
        rows, num_heads, head_dim = mVa.shape
        grid = self._grid(rows, num_heads, head_dim)
        if grid > 0:  # empty output: launch nothing
            self.kernel(mVa, mSa, mVb, mSb, mO, mLSE).launch(
                grid=[grid, 1, 1], block=[self.num_threads, 1, 1], stream=stream
            )

    @cute.kernel
    def kernel(
        self,
        mVa: cute.Tensor,
        mSa: cute.Tensor,
        mVb: cute.Tensor,
        mSb: cute.Tensor,
        mO: cute.Tensor,
        mLSE: cute.Tensor,
    ):
        rows, num_heads, head_dim = mVa.shape
        row, head, chunk, pair = self._thread_coords(num_heads, head_dim)
        if pair < rows * num_heads:
            atom = self._copy_atom()
            parts = ((mVa, mSa), (mVb, mSb))
            tVr = [cute.make_rmem_tensor((self.chunk_elems,), self.dtype) for _ in parts]
            for i in cutlass.range_constexpr(len(parts)):
                cute.copy(atom, self._chunk(parts[i][0], (row, head), chunk), tVr[i])
            lse = [mS[row, head] for _, mS in parts]
            max_lse = self._safe_max(cute.arch.fmax(lse[0], lse[1]))
            tAcc = cute.make_rmem_tensor((self.chunk_elems,), Float32)
            tAcc.fill(0.0)
            total = Float32(0.0)
            for i in cutlass.range_constexpr(len(parts)):
                w = self._weight(lse[i], max_lse)
                self._accumulate(tAcc, tVr[i], w)
                total += w
            self._epilogue(mO, mLSE, row, head, chunk, tAcc, total, max_lse)


class _MergeStatesVariant(_MergeKernelBase):
    """One compiled shape of merge_states: ``parts_per_step`` parts (P) of ``pieces`` (Q) chunks per thread.

    ============  ==================================================================================
    piece         one chunk of one (row, head) pair, as in merge_state; a CTA takes ``Q * num_threads``
                  consecutive chunk ids, piece ``j`` of thread ``t`` being id ``(cta * Q + j) *
                  num_threads + t`` (so every piece of a warp is a contiguous run of each value vector)
    step          ``P`` consecutive parts of every piece of the thread: ``P * Q`` 16-byte value loads and
                  ``P * Q`` LSE loads, all issued before any of them is used (one memory round trip)
    ============  ==================================================================================

    Per-thread timeline: step 0 (parts ``0..P-1``): issue its loads, ``m`` = max of its LSEs,
    accumulate ``exp(s_i - m) v_i``. With ``loop``, each further step: issue its loads, raise ``m`` to
    the new max, rescale the running sums by ``exp(m_old - m_new)`` (0 while nothing was non-empty),
    accumulate. Without ``loop`` the variant handles ``k <= P`` only (the caller dispatches on ``k``).
    Normalize and store each piece as merge_state does.

    Loads are unconditional, at clamped in-bounds coordinates: a slot past the last part re-reads the
    last part, a piece past the last pair the last pair, and either gets LSE ``-inf`` (weight 0, its
    values ignored by the select in ``_accumulate``). A predicated load would save those re-reads,
    but it compiles to a branch per slot with the bf16 -> fp32 conversions sunk into it, holding
    8 fp32 registers per slot instead of 4 packed ones (79 registers instead of 48 for the loop).
    """

    def __init__(self, dtype, num_threads: int, parts_per_step: int, pieces: int, loop: bool):
        super().__init__(dtype, num_threads)
        self.parts_per_step = parts_per_step
        self.pieces = pieces
        self.loop = loop

    def launch(self, mV: cute.Tensor, mS: cute.Tensor, mO: cute.Tensor, mLSE: cute.Tensor, units, stream):
        """Launch over ``units`` (> 0) chunk ids."""
        grid = cute.ceil_div(units, self.num_threads * self.pieces)
        self.kernel(mV, mS, mO, mLSE).launch(grid=[grid, 1, 1], block=[self.num_threads, 1, 1], stream=stream)

    @cute.kernel
    def kernel(self, mV: cute.Tensor, mS: cute.Tensor, mO: cute.Tensor, mLSE: cute.Tensor):
        rows, num_parts, num_heads, head_dim = mV.shape
        pieces = self._pieces(rows, num_heads, head_dim)
        if cutlass.const_expr(self.pieces == 1):
            if pieces[0][3]:
                self._merge(mV, mS, mO, mLSE, pieces)
        else:
            self._merge(mV, mS, mO, mLSE, pieces)

    @cute.jit
    def _merge(self, mV: cute.Tensor, mS: cute.Tensor, mO: cute.Tensor, mLSE: cute.Tensor, pieces):
        num_parts = mV.shape[1]
        tVr = [
            [cute.make_rmem_tensor((self.chunk_elems,), self.dtype) for _ in range(self.parts_per_step)]
            for _ in range(self.pieces)
        ]
        tAcc = [cute.make_rmem_tensor((self.chunk_elems,), Float32) for _ in range(self.pieces)]
        tMax = cute.make_rmem_tensor((self.pieces,), Float32)  # running max LSE (raw: -inf if none)
        tTot = cute.make_rmem_tensor((self.pieces,), Float32)  # sum of weights relative to tMax

        lse = self._issue_step(mV, mS, pieces, Int32(0), tVr)
        for j in cutlass.range_constexpr(self.pieces):
            step_max = lse[j][0]
            for p in cutlass.range_constexpr(1, self.parts_per_step):
                step_max = cute.arch.fmax(step_max, lse[j][p])
            tMax[j] = step_max
            tAcc[j].fill(0.0)
            tTot[j] = self._accumulate_step(lse[j], self._safe_max(step_max), tVr[j], tAcc[j], Float32(0.0))

        if cutlass.const_expr(self.loop):
            for first in cutlass.range(self.parts_per_step, num_parts, self.parts_per_step):
                lse = self._issue_step(mV, mS, pieces, first, tVr)
                for j in cutlass.range_constexpr(self.pieces):
                    old_max = tMax[j]
                    new_max = old_max
                    for p in cutlass.range_constexpr(self.parts_per_step):
                        new_max = cute.arch.fmax(new_max, lse[j][p])
                    safe_max = self._safe_max(new_max)
                    scale = self._weight(old_max, safe_max)  # 0 while every earlier part was empty
                    tAcc[j].store(tAcc[j].load() * scale)
                    tMax[j] = new_max
                    tTot[j] = self._accumulate_step(lse[j], safe_max, tVr[j], tAcc[j], tTot[j] * scale)

        for j in cutlass.range_constexpr(self.pieces):
            row, head, chunk, ok = pieces[j]
            if ok:
                self._epilogue(mO, mLSE, row, head, chunk, tAcc[j], tTot[j], self._safe_max(tMax[j]))

    def _pieces(self, rows, num_heads, head_dim) -> list:
        """(row, head, chunk, ok) of each piece of this thread; a piece past the last pair (not ok) takes
        the coordinates of the last pair, so that every address stays in bounds."""
        tidx, _, _ = cute.arch.thread_idx()
        bidx, _, _ = cute.arch.block_idx()
        chunks_per_head = head_dim // self.chunk_elems
        last_pair = rows * num_heads - 1
        out = []
        for j in range(self.pieces):
            g = (bidx * self.pieces + j) * self.num_threads + tidx
            pair = g // chunks_per_head
            ok = pair <= last_pair
            if self.pieces > 1:  # one piece: the caller skips the whole thread when not ok
                pair = cutlass.min(pair, last_pair)
            out.append((pair // num_heads, pair % num_heads, g % chunks_per_head, ok))
        return out

    def _issue_step(self, mV: cute.Tensor, mS: cute.Tensor, pieces: list, first: Int32, tVr: list) -> list:
        """Issue the step's 16-byte value loads (into ``tVr``) and LSE loads, all before any use; returns
        the LSEs, ``[piece][part]``. A slot past the last part re-reads the last part (no branch: the
        loads stay unconditional and in flight together) and gets LSE ``-inf``, as does a piece past
        the last pair."""
        num_parts = mV.shape[1]
        atom = self._copy_atom()
        parts = [first] + [cutlass.min(first + p, num_parts - 1) for p in range(1, self.parts_per_step)]
        for j, (row, head, chunk, _) in enumerate(pieces):
            for p in range(self.parts_per_step):
                cute.copy(atom, self._chunk(mV, (row, parts[p], head), chunk), tVr[j][p])
        lse = []
        for j, (row, head, _, ok) in enumerate(pieces):
            lse.append([])
            for p in range(self.parts_per_step):
                s = mS[row, parts[p], head]
                # part 0 of a step always exists (k >= 1): only later slots need the bound check
                keep = (first + p < num_parts) if p > 0 else None
                if self.pieces > 1:
                    keep = ok if keep is None else keep & ok
                if keep is not None:
                    s = Float32(cutlass.select_(keep, s, Float32(-math.inf)))
                lse[j].append(s)
        return lse

    def _accumulate_step(self, lse: list, safe_max: Float32, tVr: list, tAcc: cute.Tensor, total: Float32):
        """Add ``exp(s_p - safe_max) v_p`` of the step's parts to ``tAcc``; returns ``total`` plus their
        weights."""
        for p in range(self.parts_per_step):
            w = self._weight(lse[p], safe_max)
            self._accumulate(tAcc, tVr[p], w)
            total += w
        return total


class MergeStatesKernel:
    """Merge ``k`` partial states stacked in dim 1: ``v`` (n, k, h, d), ``s`` (n, k, h).

    One kernel per range of ``k``, picked at launch from the runtime ``k`` (see ``_MergeStatesVariant``):

    ========  ==========================================  ==========================================
    k         variant                                     16-byte value loads in flight per thread
    ========  ==========================================  ==========================================
    1, 2      2 parts x 2 pieces, one step                4 (2 for k = 1)
    3, 4      4 parts x 1 piece, one step                 4 (3 for k = 3)
    >= 5      4 parts x 1 piece, ceil(k / 4) steps with   4 per step, LSE and value loads of a step
              an online max (rescaled sums)               together: one round trip per step
    ========  ==========================================  ==========================================

    Every variant keeps a thread at four 16-byte loads per round trip (a single-piece k = 2 kernel
    would have two), and reads each input byte once.
    """

    def __init__(self, dtype: type[cutlass.Numeric], num_threads: int = 128):
        self.chunk_elems = CHUNK_BITS // dtype.width
        self.small = _MergeStatesVariant(dtype, num_threads, parts_per_step=2, pieces=2, loop=False)
        self.medium = _MergeStatesVariant(dtype, num_threads, parts_per_step=4, pieces=1, loop=False)
        self.large = _MergeStatesVariant(dtype, num_threads, parts_per_step=4, pieces=1, loop=True)

    @cute.jit
    def __call__(self, mV: cute.Tensor, mS: cute.Tensor, mO: cute.Tensor, mLSE: cute.Tensor, stream):
        rows, num_parts, num_heads, head_dim = mV.shape
        units = rows * num_heads * (head_dim // self.chunk_elems)
        if units > 0 and num_parts > 0:  # empty output, or k == 0 (the caller fills v = 0, s = -inf)
            if num_parts <= self.small.parts_per_step:
                self.small.launch(mV, mS, mO, mLSE, units, stream)
            elif num_parts <= self.medium.parts_per_step:
                self.medium.launch(mV, mS, mO, mLSE, units, stream)
            else:
                self.large.launch(mV, mS, mO, mLSE, units, stream)


def _fake_rows(dtype, shape: tuple) -> cute.Tensor:
    """Values: contiguous last dim, other strides runtime multiples of 16 bytes, 16-byte aligned base."""
    div = CHUNK_BITS // dtype.width
    stride = tuple(cute.sym_int64(divisibility=div) for _ in shape[:-1]) + (1,)
    return cute.runtime.make_fake_tensor(dtype, shape, stride=stride, assumed_align=CHUNK_BITS // 8)


def _fake_lse(shape: tuple) -> cute.Tensor:
    """LSEs: float32, every stride runtime."""
    stride = tuple(cute.sym_int64() for _ in shape)
    return cute.runtime.make_fake_tensor(Float32, shape, stride=stride, assumed_align=4)


def compile_merge_state(spec):
    """Compile merge_state for ``spec.dtype`` ("bf16"/"fp16"). Runtime arguments, in order:
    ``v_a`` (n, h, d), ``s_a`` (n, h) fp32, ``v_b``, ``s_b``, ``v_out``, ``s_out``. Stream: torch's
    current."""
    dtype = DTYPES[spec.dtype]
    rows, num_heads = cute.sym_int(), cute.sym_int()
    head_dim = cute.sym_int(divisibility=CHUNK_BITS // dtype.width)
    values = [_fake_rows(dtype, (rows, num_heads, head_dim)) for _ in range(3)]
    lses = [_fake_lse((rows, num_heads)) for _ in range(3)]
    return cute.compile(
        MergeStateKernel(dtype),
        values[0], lses[0], values[1], lses[1], values[2], lses[2],
        cute.runtime.make_fake_stream(use_tvm_ffi_env_stream=True),
        options=COMPILE_OPTIONS,
    )


def compile_merge_states(spec):
    """Compile merge_states for ``spec.dtype`` ("bf16"/"fp16"). Runtime arguments, in order:
    ``v`` (n, k, h, d), ``s`` (n, k, h) fp32, ``v_out`` (n, h, d), ``s_out`` (n, h) fp32. k >= 1.
    Stream: torch's current."""
    dtype = DTYPES[spec.dtype]
    rows, num_parts = cute.sym_int(), cute.sym_int()
    num_heads, head_dim = cute.sym_int(), cute.sym_int(divisibility=CHUNK_BITS // dtype.width)
    return cute.compile(
        MergeStatesKernel(dtype),
        _fake_rows(dtype, (rows, num_parts, num_heads, head_dim)),
        _fake_lse((rows, num_parts, num_heads)),
        _fake_rows(dtype, (rows, num_heads, head_dim)),
        _fake_lse((rows, num_heads)),
        cute.runtime.make_fake_stream(use_tvm_ffi_env_stream=True),
        options=COMPILE_OPTIONS,
    )
