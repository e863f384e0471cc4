"""Per-request offsets and lengths of a ragged (varlen) batch, read once per tile."""

from __future__ import annotations

import dataclasses

import cutlass.cute as cute
from cutlass import Int32


@dataclasses.dataclass(frozen=True)
class SeqlenInfo:
    """Request ``batch`` of a ragged batch: rows ``[offset_q, offset_q + q_len)`` of Q/O and
    ``[offset_k, offset_k + kv_len)`` of K/V, from the int32 prefix sums ``cu_seqlens_q/k`` (batch + 1,)."""

    offset_q: Int32
    offset_k: Int32
    q_len: Int32
    kv_len: Int32

    @staticmethod
    def create(batch: Int32, mCuSeqlensQ: cute.Tensor, mCuSeqlensK: cute.Tensor) -> "SeqlenInfo":
        offset_q = mCuSeqlensQ[batch]
        offset_k = mCuSeqlensK[batch]
        return SeqlenInfo(offset_q, offset_k, mCuSeqlensQ[batch + 1] - offset_q, mCuSeqlensK[batch + 1] - offset_k)

    def request_q(self, mX: cute.Tensor) -> cute.Tensor:
        """View of a (total_q, ...) tensor (or TMA coordinate tensor) starting at this request's first row."""
        return cute.domain_offset((self.offset_q,) + (None,) * (cute.rank(mX) - 1), mX)

    def request_k(self, mX: cute.Tensor) -> cute.Tensor:
        return cute.domain_offset((self.offset_k,) + (None,) * (cute.rank(mX) - 1), mX)
