"""Causal and key-length masks for prefill, and the n-block ranges that need them.

Causal is aligned bottom-right: query ``i`` (0-based in its request) sees keys ``j <= i + kv_len - q_len``.
A tile's key blocks are visited from the last (``n_block_max - 1``) down to 0:

- the first visited block may hold keys ``>= kv_len`` (and, causal, the diagonal): length + causal mask;
- causal only: blocks ``>= n_block_min_causal`` cross the diagonal of some row of the tile: causal mask;
- every other block is fully visible to every row: no per-element predicate.
"""

from __future__ import annotations

import dataclasses

import cutlass
import cutlass.cute as cute
from cutlass import Float32, Int32

from .softmax import ROWS_PER_THREAD, check_acc_fragment, row_of


@dataclasses.dataclass(frozen=True)
class BlockRange:
    tile_m: int
    tile_n: int
    causal: bool

    @cute.jit
    def n_block_max(self, seq, m_block: Int32) -> Int32:
        """Number of key blocks the tile attends to (0 when no row sees any key)."""
        n_max = (seq.kv_len + self.tile_n - 1) // self.tile_n
        if cutlass.const_expr(self.causal):
            last_row_end = cutlass.min((m_block + 1) * self.tile_m, seq.q_len)
            keys_end = cutlass.max(last_row_end + seq.kv_len - seq.q_len, 0)
            n_max = cutlass.min(n_max, (keys_end + self.tile_n - 1) // self.tile_n)
        return n_max

    @cute.jit
    def n_block_min_causal(self, seq, m_block: Int32) -> Int32:
        """Blocks ``>= this`` cross the causal diagonal of some row of the tile."""
        first_row_last_key = cutlass.max(m_block * self.tile_m + seq.kv_len - seq.q_len, 0)
        return first_row_last_key // self.tile_n


@dataclasses.dataclass(frozen=True)
class AttentionMask:
    """Masks one S tile of a warpgroup's accumulator fragment, ``tScS`` its (row, col) coordinates in the
    (tile_m, tile_n) tile."""

    tile_m: int
    tile_n: int
    tScS: cute.Tensor

    @cute.jit
    def apply(
        self,
        acc_S: cute.Tensor,
        seq,
        m_block: Int32,
        n_block: Int32,
        mask_kv_len: cutlass.Constexpr[bool],
        mask_causal: cutlass.Constexpr[bool],
    ):
        check_acc_fragment(acc_S)
        # column limit per thread row: keys at columns >= limit are masked
        limit = cute.make_rmem_tensor((ROWS_PER_THREAD,), Int32)
        kv_limit = seq.kv_len - n_block * self.tile_n
        for h in cutlass.range_constexpr(ROWS_PER_THREAD):
            lim = kv_limit
            if cutlass.const_expr(mask_causal):
                row = self.tScS[2 * h][0]
                causal_limit = m_block * self.tile_m + row + 1 + seq.kv_len - seq.q_len - n_block * self.tile_n
                if cutlass.const_expr(mask_kv_len):
                    lim = cutlass.min(kv_limit, causal_limit)
                else:
                    lim = causal_limit
            limit[h] = lim
        for k in cutlass.range_constexpr(cute.size(acc_S)):
            acc_S[k] = -Float32.inf if self.tScS[k][1] >= limit[row_of(k)] else acc_S[k]
