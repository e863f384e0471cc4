"""Static persistent tile scheduler over a work list made on the host.

The host writes ``work`` (num_work, 4) int32 rows ``(batch, m_block, q_head, 0)`` in schedule order
(heaviest first); CTA ``c`` of a grid of ``num_ctas`` processes rows ``c, c + num_ctas, ...``. Every
role of a CTA walks the same rows in the same order, so pipelines stay in step across tiles.
"""

from __future__ import annotations

import dataclasses

import cutlass.cute as cute
from cutlass import Int32

WORK_WIDTH = 4
BATCH, M_BLOCK, Q_HEAD = 0, 1, 2


@dataclasses.dataclass(frozen=True)
class WorkTile:
    batch: Int32
    m_block: Int32
    q_head: Int32


@dataclasses.dataclass(frozen=True)
class StaticWorkListScheduler:
    mWork: cute.Tensor
    num_ctas: Int32

    def work_range(self):
        """``(first, end, step)`` of this CTA's rows, for ``cutlass.range``."""
        bidx, _, _ = cute.arch.block_idx()
        return Int32(bidx), Int32(self.mWork.shape[0]), self.num_ctas

    def tile(self, row: Int32) -> WorkTile:
        return WorkTile(self.mWork[row, BATCH], self.mWork[row, M_BLOCK], self.mWork[row, Q_HEAD])
