"""Static persistent tile scheduler over a work list made on the host.

The host writes ``work`` (num_work, 4) int32 rows ``(batch, m_block, q_head, 0)`` in schedule order
(heaviest first). ``work_range`` deals them round robin; ``round_range`` + ``row`` (prefill_sm90) deal them in
rounds of ``num_ctas``, serpentine: in round ``r`` CTA ``c`` takes
row ``r * num_ctas + c`` when ``r`` is even and ``r * num_ctas + num_ctas - 1 - c`` when odd, so the CTA that
got the heaviest row of one round gets the lightest of the next (a plain round robin gives CTA 0 the
heaviest row of every round: ~6 % imbalance on causal 16k). Every role of a CTA walks the same rows in the
same order, so pipelines stay in step across tiles.

``cluster = 2`` (build switch ``CUTE_ATTN_PREFILL_CLUSTER=2``, NOTES-prefill 21): a row is a *pair* of query tiles
``m_block, m_block + 1`` of one (request, head); the rounds are dealt over the clusters (``num_ctas / 2``, serpentine by
cluster id) and CTA rank r of the cluster takes tile ``m_block + r``, so both CTAs of a cluster walk the same rows.
"""

from __future__ import annotations

import dataclasses

import cutlass
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
    cluster: int = 1

    def _unit(self):
        """``(c, n)``: this CTA's (cluster's) slot in a round and the slots per round."""
        if cutlass.const_expr(self.cluster > 1):
            cid, _, _ = cute.arch.cluster_idx()
            return Int32(cid), self.num_ctas // self.cluster
        bidx, _, _ = cute.arch.block_idx()
        return Int32(bidx), self.num_ctas

    def work_range(self):
        """Plain round robin: ``(first, end, step)`` of this CTA's *rows* (``c, c + num_ctas, ...``)."""
        bidx, _, _ = cute.arch.block_idx()
        return Int32(bidx), Int32(self.mWork.shape[0]), self.num_ctas

    def round_range(self):
        """Serpentine: ``(first, end, step)`` of this CTA's rounds, for ``cutlass.range``; :meth:`row` maps a
        round to a row."""
        c, n = self._unit()
        num_work = Int32(self.mWork.shape[0])
        full = num_work // n
        rem = num_work - full * n
        # only the last round is partial: positions [0, rem) of it exist
        pos_last = cutlass.select_(full % 2 == 0, c, n - 1 - c)
        rounds = full + cutlass.select_(pos_last < rem, Int32(1), Int32(0))
        return Int32(0), rounds, Int32(1)

    def row(self, r: Int32) -> Int32:
        c, n = self._unit()
        return r * n + cutlass.select_(r % 2 == 0, c, n - 1 - c)

    def tile(self, row: Int32) -> WorkTile:
        if cutlass.const_expr(self.cluster > 1):
            rank = cute.arch.make_warp_uniform(cute.arch.block_idx_in_cluster())
            return WorkTile(self.mWork[row, BATCH], self.mWork[row, M_BLOCK] + rank, self.mWork[row, Q_HEAD])
        return WorkTile(self.mWork[row, BATCH], self.mWork[row, M_BLOCK], self.mWork[row, Q_HEAD])
