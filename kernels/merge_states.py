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


class MergeStatesKernel(_MergeKernelBase):
    """Merge ``k`` partial states stacked in dim 1: ``v`` (n, k, h, d), ``s`` (n, k, h).

    Per-thread timeline: issue the value loads of the first ``parts_per_step`` parts; read the ``k``
    LSEs of its pair for the max, ``parts_per_step`` loads at a time (overlapping the value loads, so
    k <= parts_per_step costs one memory round trip); accumulate that step; then per further step,
    issue ``parts_per_step`` 16-byte loads and accumulate. A short step re-reads the last part (with
    weight 0 in the sum). Normalize and store as merge_state does.
    """

    def __init__(self, dtype: type[cutlass.Numeric], num_threads: int = 128, parts_per_step: int = 4):
        super().__init__(dtype, num_threads)
        self.parts_per_step = parts_per_step

    @cute.jit
    def __call__(self, mV: cute.Tensor, mS: cute.Tensor, mO: cute.Tensor, mLSE: cute.Tensor, stream):
        rows, num_parts, num_heads, head_dim = mV.shape
        grid = self._grid(rows, num_heads, head_dim)
        if grid > 0 and num_parts > 0:  # empty output, or k == 0 (the caller fills v = 0, s = -inf)
            self.kernel(mV, mS, mO, mLSE).launch(
                grid=[grid, 1, 1], block=[self.num_threads, 1, 1], stream=stream
            )

    @cute.kernel
    def kernel(self, mV: cute.Tensor, mS: cute.Tensor, mO: cute.Tensor, mLSE: cute.Tensor):
        rows, num_parts, num_heads, head_dim = mV.shape
        row, head, chunk, pair = self._thread_coords(num_heads, head_dim)
        if pair < rows * num_heads:
            tVr = [cute.make_rmem_tensor((self.chunk_elems,), self.dtype) for _ in range(self.parts_per_step)]
            self._load_step(mV, row, head, chunk, Int32(0), tVr)

            max_lse = Float32(-math.inf)
            for first in cutlass.range(0, num_parts, self.parts_per_step):
                for part in self._step_parts(first, num_parts):
                    max_lse = cute.arch.fmax(max_lse, mS[row, part, head])
            max_lse = self._safe_max(max_lse)

            tAcc = cute.make_rmem_tensor((self.chunk_elems,), Float32)
            tAcc.fill(0.0)
            total = self._accumulate_step(mS, row, head, Int32(0), max_lse, tVr, tAcc, Float32(0.0))
            for first in cutlass.range(self.parts_per_step, num_parts, self.parts_per_step):
                self._load_step(mV, row, head, chunk, first, tVr)
                total = self._accumulate_step(mS, row, head, first, max_lse, tVr, tAcc, total)
            self._epilogue(mO, mLSE, row, head, chunk, tAcc, total, max_lse)

    def _step_parts(self, first: Int32, num_parts) -> list:
        """Part indices of the step starting at ``first``, clamped to the last part."""
        return [cutlass.min(first + p, num_parts - 1) for p in range(self.parts_per_step)]

    def _load_step(self, mV: cute.Tensor, row, head, chunk, first: Int32, tVr: list):
        """Issue the step's 16-byte value loads into ``tVr``."""
        atom = self._copy_atom()
        for p, part in enumerate(self._step_parts(first, mV.shape[1])):
            cute.copy(atom, self._chunk(mV, (row, part, head), chunk), tVr[p])

    def _accumulate_step(self, mS, row, head, first: Int32, max_lse, tVr: list, tAcc, total: Float32):
        """Add the step's parts (already in ``tVr``) to ``tAcc``; returns ``total`` plus their weights."""
        num_parts = mS.shape[1]
        for p, part in enumerate(self._step_parts(first, num_parts)):
            w = self._weight(mS[row, part, head], max_lse)
            if p > 0:  # a clamped repeat of the last part counts 0 (part 0 of a step always exists)
                w = Float32(cutlass.select_(first + p < num_parts, w, Float32(0.0)))
            self._accumulate(tAcc, tVr[p], w)
            total += w
        return total


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
