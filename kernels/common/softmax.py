"""Online softmax over wgmma accumulator fragments, in the log2 domain.

Scores stay raw in the accumulator; ``p = exp2(s * scale_log2 - m * scale_log2)`` with
``scale_log2 = softmax_scale * log2(e)`` folds the softmax scale and the change of base into one FMA
per element. The running max ``m`` is kept raw (unscaled); each thread keeps partial row sums over
its own columns, reduced across the quad only once, in :meth:`OnlineSoftmax.finalize`.

Fragment convention (wgmma C/D, one warpgroup owns 64 rows): a thread holds 2 rows; element ``k`` of
its fragment ``((2, 2, N / 8), 1, 1)`` lies in row ``(k // 2) % 2``, and the 4 threads of a quad
share each row.
"""

from __future__ import annotations

import dataclasses
import math

import cutlass
import cutlass.cute as cute
from cutlass import Float32, Int32
from cutlass._mlir.dialects import llvm
from cutlass.cutlass_dsl import T, dsl_user_op

LOG2_E = math.log2(math.e)
LN_2 = math.log(2.0)
ROWS_PER_THREAD = 2
QUAD = 4


def row_of(k: int) -> int:
    """Row (0 or 1) of accumulator element ``k`` within the thread's two rows."""
    return (k // 2) % 2


def chain_count(n: int, max_chains: int) -> int:
    """Partial max chains for a thread's ``n`` scores (``n / 4`` pairs per row; pair ``j`` feeds chain
    ``j % chains``, so the chains may differ in length by one pair): ``max_chains``, or the largest power of two
    up to the pair count (e.g. a trimmed first block's N)."""
    chains = max_chains
    while chains > max(1, n // 4):
        chains //= 2
    return chains


def max_chain_plan(n: int, chains: int):
    """The thread's row maxima over its ``n`` accumulator elements as ``chains`` independent chains per row and a
    halving tree (trace-time lists of register indices; ``chains`` a power of two, at most the pairs per row):

    - ``init``: ``(row, chain, k)``: the chain starts at element ``k``, or at the kept max where ``k`` is -1 (chain 0);
    - ``updates``: ``(row, chain, k)`` in issue order (ascending ``k``, the rows interleaved): ``max`` with element
      ``k``;
    - ``tree``: ``(row, dst, src)``: ``max`` of chain ``src`` into ``dst``; chain 0 then holds the row's max.

    Pair ``j`` of a row (its elements ``4 j + 2 row`` and ``+ 1``) feeds chain ``j % chains``; chain ``c > 0`` starts
    at the first element of its first pair. ``chains = 1`` is the single serial chain."""
    assert chains >= 1 and chains & (chains - 1) == 0 and chains <= max(1, n // 4), (n, chains)
    starts = {(h, c): 4 * c + 2 * h for h in range(ROWS_PER_THREAD) for c in range(1, chains)}
    init = [(h, 0, -1) for h in range(ROWS_PER_THREAD)] + [(h, c, k) for (h, c), k in starts.items()]
    updates = [(row_of(k), (k // 4) % chains, k) for k in range(n)
               if starts.get((row_of(k), (k // 4) % chains)) != k]
    tree = []
    width = chains
    while width > 1:
        width //= 2
        tree += [(h, c, c + width) for h in range(ROWS_PER_THREAD) for c in range(width)]
    return init, updates, tree


def check_acc_fragment(acc: cute.Tensor) -> None:
    """Trace-time check that ``acc`` is a one-atom-high wgmma accumulator fragment."""
    shape = acc.shape
    assert cute.size(shape[0][0]) == 2 and cute.size(shape[0][1]) == 2, f"not a wgmma C fragment: {shape}"
    assert cute.size(shape[1]) == 1, f"one wgmma atom (64 rows) per warpgroup expected, got {shape}"


@dataclasses.dataclass(frozen=True)
class OnlineSoftmax:
    """Running row max (raw scores) and per-thread partial row sums of the thread's two rows."""

    scale_log2: Float32
    row_max: cute.Tensor
    row_sum: cute.Tensor
    # ``m`` moves only when the block's max exceeds it by more than this many powers of 2 (0: whenever it grows):
    # below that, P is computed against the old ``m`` (P <= 2^threshold, exact in fp32 sums and 16-bit P alike)
    # and the row's factor is exactly 1, so O's rescale can be skipped (the kernel's vote). Trace-time constant.
    rescale_threshold: float = 0.0
    # with ``rescale_threshold``: when every thread of the warp sees its own part of the block's maxima within the
    # threshold of the kept max (one vote.all), the quad's max cannot move either, so the two quad shuffle rounds per
    # row (SHFL -> FMNMX -> SHFL -> FMNMX, the softmax's only MIO round trips) are skipped. The same m as without it,
    # bit for bit. Trace-time constant.
    vote_max: bool = False
    # independent partial maxima per row (1: one serial FMNMX chain over the thread's N / 4 scores of a row, as
    # ptxas keeps it; c: c chains of N / 4c and a c-way tree). Trace-time constant.
    max_chains: int = 1

    @staticmethod
    def create(scale_log2: Float32, rescale_threshold: float = 0.0, vote_max: bool = False,
               max_chains: int = 1) -> "OnlineSoftmax":
        """``scale_log2`` must be positive (the API refuses other scales): the running max is of raw scores."""
        assert 0.0 <= rescale_threshold <= 12.0, "P <= 2^threshold must stay far inside fp16's range (65504)"
        assert not vote_max or rescale_threshold > 0.0, "vote_max needs a rescale threshold"
        return OnlineSoftmax(
            scale_log2,
            cute.make_rmem_tensor((ROWS_PER_THREAD,), Float32),
            cute.make_rmem_tensor((ROWS_PER_THREAD,), Float32),
            float(rescale_threshold),
            bool(vote_max),
            int(max_chains),
        )

    def reset(self) -> None:
        self.row_max.fill(-Float32.inf)
        self.row_sum.fill(0.0)

    @cute.jit
    def _chained_max(self, acc_S: cute.Tensor, tile_max: cute.Tensor, chains: cutlass.Constexpr[int]):
        """tile_max <- the kept max and the thread's row maxima of acc_S over ``chains`` chains (max_chain_plan)."""
        init, updates, tree = max_chain_plan(cute.size(acc_S), chains)
        part = cute.make_rmem_tensor((ROWS_PER_THREAD, chains), Float32)
        for i in cutlass.range_constexpr(len(init)):
            h, c, k = init[i]
            if cutlass.const_expr(k < 0):
                part[h, c] = self.row_max[h]
            else:
                part[h, c] = acc_S[k]
        for i in cutlass.range_constexpr(len(updates)):
            h, c, k = updates[i]
            part[h, c] = cute.arch.fmax(part[h, c], acc_S[k])
        for i in cutlass.range_constexpr(len(tree)):
            h, dst, src = tree[i]
            part[h, dst] = cute.arch.fmax(part[h, dst], part[h, src])
        for h in cutlass.range_constexpr(ROWS_PER_THREAD):
            tile_max[h] = part[h, 0]

    @cute.jit
    def online(self, acc_S: cute.Tensor, is_first: cutlass.Constexpr[bool]) -> cute.Tensor:
        """acc_S <- P = exp2(S * scale_log2 - m_new * scale_log2); returns the per-row factor
        ``exp2((m_old - m_new) * scale_log2)`` that rescales O and the row sums (exactly 1 where m stays, see
        ``rescale_threshold``). A row with every score masked (-inf) keeps m = -inf and gets P = 0."""
        check_acc_fragment(acc_S)
        n = cute.size(acc_S)
        row_scale = cute.make_rmem_tensor((ROWS_PER_THREAD,), Float32)
        tile_max = cute.make_rmem_tensor((ROWS_PER_THREAD,), Float32)
        chains = chain_count(n, self.max_chains)
        if cutlass.const_expr(chains == 1):
            # the serial chain (max_chain_plan's chains = 1 order, written directly: the default kernels' code)
            for h in cutlass.range_constexpr(ROWS_PER_THREAD):
                tile_max[h] = self.row_max[h]
            for k in cutlass.range_constexpr(n):
                tile_max[row_of(k)] = cute.arch.fmax(tile_max[row_of(k)], acc_S[k])
        else:
            self._chained_max(acc_S, tile_max, chains)
        quad_max = cute.make_rmem_tensor((ROWS_PER_THREAD,), Float32)
        if cutlass.const_expr(self.vote_max and not is_first):
            # own maxima within the threshold (a kept -inf with a -inf block gives NaN: not within, the slow path)
            stay = (tile_max[0] - self.row_max[0]) * self.scale_log2 <= Float32(self.rescale_threshold)
            for h in cutlass.range_constexpr(1, ROWS_PER_THREAD):
                stay = stay & ((tile_max[h] - self.row_max[h]) * self.scale_log2 <= Float32(self.rescale_threshold))
            if cute.arch.vote_all_sync(stay):
                for h in cutlass.range_constexpr(ROWS_PER_THREAD):
                    quad_max[h] = self.row_max[h]
            else:
                for h in cutlass.range_constexpr(ROWS_PER_THREAD):
                    quad_max[h] = cute.arch.warp_reduction_max(tile_max[h], threads_in_group=QUAD)
        else:
            for h in cutlass.range_constexpr(ROWS_PER_THREAD):
                quad_max[h] = cute.arch.warp_reduction_max(tile_max[h], threads_in_group=QUAD)
        neg_max_scaled = cute.make_rmem_tensor((ROWS_PER_THREAD,), Float32)
        for h in cutlass.range_constexpr(ROWS_PER_THREAD):
            m_new = quad_max[h]
            if cutlass.const_expr(self.rescale_threshold > 0.0 and not is_first):
                # m_new >= m_old; m_old = -inf with a finite m_new gives +inf (moves), both -inf give NaN (stays -inf)
                if (m_new - self.row_max[h]) * self.scale_log2 <= Float32(self.rescale_threshold):
                    m_new = self.row_max[h]
            m_safe = Float32(0.0) if m_new == -Float32.inf else m_new
            if cutlass.const_expr(is_first):
                row_scale[h] = 1.0
            else:
                row_scale[h] = cute.math.exp2((self.row_max[h] - m_safe) * self.scale_log2, fastmath=True)
                if cutlass.const_expr(self.rescale_threshold > 0.0):
                    if m_new == self.row_max[h]:
                        row_scale[h] = 1.0
            self.row_max[h] = m_new
            neg_max_scaled[h] = -m_safe * self.scale_log2
        row_part = cute.make_rmem_tensor((ROWS_PER_THREAD,), Float32)
        row_part.fill(0.0)
        for k in cutlass.range_constexpr(n):
            h = row_of(k)
            p = cute.math.exp2(acc_S[k] * self.scale_log2 + neg_max_scaled[h], fastmath=True)
            acc_S[k] = p
            row_part[h] = row_part[h] + p
        for h in cutlass.range_constexpr(ROWS_PER_THREAD):
            if cutlass.const_expr(is_first):
                self.row_sum[h] = row_part[h]
            else:
                self.row_sum[h] = self.row_sum[h] * row_scale[h] + row_part[h]
        return row_scale

    @cute.jit
    def finalize(self):
        """Returns ``(inv_sum, lse)`` per row: ``1 / sum`` to normalize O, and the natural-log LSE
        ``(m * scale_log2 + log2(sum)) * ln 2``. A row that saw no key gets ``0`` and ``-inf``."""
        inv_sum = cute.make_rmem_tensor((ROWS_PER_THREAD,), Float32)
        lse = cute.make_rmem_tensor((ROWS_PER_THREAD,), Float32)
        for h in cutlass.range_constexpr(ROWS_PER_THREAD):
            total = cute.arch.warp_reduction_sum(self.row_sum[h], threads_in_group=QUAD)
            inv_sum[h] = 0.0
            lse[h] = -Float32.inf
            if total > 0.0:
                inv_sum[h] = cute.arch.rcp_approx(total)
                lse[h] = (self.row_max[h] * self.scale_log2 + cute.math.log2(total, fastmath=True)) * LN_2
        return inv_sum, lse


def acc_as_a_fragment(acc: cute.Tensor) -> cute.Tensor:
    """View of a wgmma accumulator ``((2, 2, N / 8), 1, 1)`` (compact, column-major) as the A-operand
    register fragment ``((2, 2, 2), 1, N / 16)`` of a following RS wgmma with K = N: the columns
    ``8 v .. 8 v + 7`` of the accumulator are the k-half ``v % 2`` of k-block ``v // 2``."""
    check_acc_fragment(acc)
    v = cute.size(acc.shape[0][2])
    assert v % 2 == 0, "K of the RS wgmma must be a multiple of 16"
    return cute.make_tensor(acc.iterator, cute.make_layout(((2, 2, 2), 1, v // 2), stride=((1, 2, 4), 0, 8)))


@cute.jit
def rescale_rows(acc: cute.Tensor, row_scale: cute.Tensor):
    """acc[row r] *= row_scale[r] for a wgmma accumulator fragment."""
    check_acc_fragment(acc)
    for k in cutlass.range_constexpr(cute.size(acc)):
        acc[k] = acc[k] * row_scale[row_of(k)]


@dsl_user_op
def _cvt_pair(lo: Float32, hi: Float32, bf16: bool, *, loc=None, ip=None) -> Int32:
    """Two fp32 -> one packed 16-bit pair (``lo`` in the low half), one ``cvt.rn.{bf16x2,f16x2}.f32``."""
    return Int32(
        llvm.inline_asm(
            T.i32(),
            [Float32(lo).ir_value(loc=loc, ip=ip), Float32(hi).ir_value(loc=loc, ip=ip)],
            f"cvt.rn.{'bf16x2' if bf16 else 'f16x2'}.f32 $0, $2, $1;",
            "=r,f,f",
            has_side_effects=False,
            is_align_stack=False,
            asm_dialect=llvm.AsmDialect.AD_ATT,
        )
    )


@cute.jit
def convert_p(acc_S: cute.Tensor, tOrP: cute.Tensor):
    """P (fp32 wgmma accumulator of S) -> the 16-bit A-operand fragment ``tOrP`` of the PV wgmma, two
    elements per instruction (the accumulator and A fragments enumerate the same elements in the same
    order, see :func:`acc_as_a_fragment`)."""
    src = acc_as_a_fragment(acc_S)
    dst = cute.recast_tensor(tOrP, Int32)
    assert cute.size(dst) * 2 == cute.size(src)
    bf16 = tOrP.element_type is cutlass.BFloat16
    for i in cutlass.range_constexpr(cute.size(dst)):
        dst[i] = _cvt_pair(src[2 * i], src[2 * i + 1], bf16)
