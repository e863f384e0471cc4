"""Static persistent tile scheduler over a work list made on the host.

The host writes ``work`` as int32 rows of 4: first a *slot table*, then the work rows ``(batch, m_block, q_head, 0)``.
The slot table is ``num_slots + 1`` row indices laid out flat over the first ``ceil((num_slots + 1) / 4)`` rows
(entry ``p`` at ``work[p // 4, p % 4]``): slot ``s`` (a CTA) runs work rows ``table[s]:table[s + 1]`` in
that order. The host chooses the assignment (``cute_attn.prefill.schedule_work``: a serpentine deal or a list
schedule, whichever its cost model says finishes first), so the kernel only walks its list. Every role of a CTA walks
the same rows in the same order, so pipelines stay in step across tiles.

Word 3 (``SPLIT``) is 0 for a whole tile. A variant built with ``split_kv`` also runs pieces of tiles: ``(group << 8) |
(piece << 4) | pieces`` (2 <= pieces <= 15) covers key blocks ``[piece * nb // pieces, (piece + 1) * nb // pieces)`` of
the tile's ``nb`` blocks (:func:`split_range`); the pieces of a group are one (batch, m_block, q_head).

``cluster = 2`` (build switch ``CUTE_ATTN_PREFILL_CLUSTER=2``, dense non-causal hd256, NOTES-prefill 27): a row is a
*pair* of query tiles ``m_block, m_block + 1`` of one (request, head); the slots are the clusters and CTA rank r of the
cluster takes tile ``m_block + r``, so both CTAs of a cluster walk the same rows (and the same key blocks).
"""

from __future__ import annotations

import dataclasses

import cutlass
import cutlass.cute as cute
from cutlass import Int32

WORK_WIDTH = 4
BATCH, M_BLOCK, Q_HEAD, SPLIT = 0, 1, 2, 3


@dataclasses.dataclass(frozen=True)
class WorkTile:
    batch: Int32
    m_block: Int32
    q_head: Int32
    split: Int32


@dataclasses.dataclass(frozen=True)
class StaticWorkListScheduler:
    mWork: cute.Tensor
    cluster: int = 1

    def row_range(self):
        """``(first, end, step)`` of this CTA's (cluster's) work rows, for ``cutlass.range``."""
        if cutlass.const_expr(self.cluster > 1):
            cid, _, _ = cute.arch.cluster_idx()
            c = Int32(cid)
        else:
            bidx, _, _ = cute.arch.block_idx()
            c = Int32(bidx)
        return self._table(c), self._table(c + 1), Int32(1)

    def _table(self, p: Int32) -> Int32:
        return self.mWork[p // WORK_WIDTH, p % WORK_WIDTH]

    def tile(self, row: Int32) -> WorkTile:
        if cutlass.const_expr(self.cluster > 1):
            rank = cute.arch.make_warp_uniform(cute.arch.block_idx_in_cluster())
            return WorkTile(self.mWork[row, BATCH], self.mWork[row, M_BLOCK] + rank, self.mWork[row, Q_HEAD],
                            self.mWork[row, SPLIT])
        return WorkTile(self.mWork[row, BATCH], self.mWork[row, M_BLOCK], self.mWork[row, Q_HEAD], self.mWork[row, SPLIT])


def split_range(split: Int32, n_blocks: Int32):
    """``(lo, hi)``: the key blocks of a work row's ``SPLIT`` word among the tile's ``n_blocks`` (``(0, n_blocks)`` for a
    whole tile, whose word is 0)."""
    pieces = split & 15
    piece = (split >> 4) & 15
    div = cutlass.max(pieces, Int32(1))
    return piece * n_blocks // div, (piece + 1) * n_blocks // div
