"""Gathered K/V tiles from a paged cache: 16-byte ``cp.async`` row copies by a producer warpgroup.

The logical KV row ``r`` of request ``b`` lives at ``layouts.paged.row_offset`` (page id from the CSR
page table, slot = ``r % page_size``); any page size, 1 included. One tile of ``tile_n`` rows is copied
in ``passes`` passes by ``threads`` producer threads:

- a row is copied by ``threads_per_row = row_bytes / 16`` adjacent lanes (whole 128-byte lines per
  warp instruction, coalesced even at page_size 1); a pass covers ``pass_rows`` rows;
- the 64-bit offset of each row the warp copies is computed once, by one lane (page id load, a fast
  divmod by page_size, 64-bit multiply-adds), ahead of the copies that need it, and handed to the
  copying lanes by ``shfl`` (a lane holds ``id_regs`` offsets when the warp copies more than 32 rows);
- rows at or past the request's end are clamped to its last row (valid memory), so no zero-fill is
  needed: the consumers mask those keys, and P = 0 meets finite V.

The copies arrive on a :class:`PipelineGather` (``cp.async.mbarrier.arrive.noinc``, one arrival per
producer thread), whose ``consumer_wait`` is the ``PipelineAsync`` wait followed by a generic -> async
proxy fence, so a wgmma consumer written for TMA-fed pipelines runs unchanged. (Measured, run 24: waiting
for the copies in the producer and fencing there instead, so the consumers skip the fence, was 5-11 %
slower: the producer stops running ahead.) The TMA-box producer gathers only request tails, and fences
them itself (:func:`fence_gathered`) before its one arrival on a :func:`make_box_pipeline` barrier.
"""

from __future__ import annotations

import dataclasses

import cutlass
import cutlass.cute as cute
import cutlass.pipeline as pipeline
from cutlass import Int32, Int64
from cutlass.cute.nvgpu import cpasync

from ...layouts.paged import row_offset

COPY_BITS = 128
WARP = 32


@dataclasses.dataclass(frozen=True)
class PipelineGather(pipeline.PipelineCpAsync):
    """A ``PipelineCpAsync`` whose consumers read the stage with wgmma (async proxy): the data that
    cp.async wrote (generic proxy) is fenced to the async proxy after the full barrier completed."""

    @staticmethod
    def make(num_stages: int, barrier_storage, producer_threads: int, consumer_threads: int) -> "PipelineGather":
        base = pipeline.PipelineCpAsync.create(
            barrier_storage=barrier_storage,
            num_stages=num_stages,
            producer_group=pipeline.CooperativeGroup(pipeline.Agent.Thread, producer_threads),
            consumer_group=pipeline.CooperativeGroup(pipeline.Agent.Thread, consumer_threads),
            defer_sync=True,
        )
        return PipelineGather(**{f.name: getattr(base, f.name) for f in dataclasses.fields(base)})

    def consumer_wait(self, state, try_wait_token=None, *, loc=None, ip=None):
        super().consumer_wait(state, try_wait_token, loc=loc, ip=ip)
        cute.arch.fence_view_async_shared()


def make_box_pipeline(num_stages: int, barrier_storage, consumer_warps: int, tx_count: int):
    """The K or V pipeline of the TMA-box producer: the dense kernel's ``PipelineTmaAsync`` (one producer
    arrival with the block's bytes; one elected release per consumer warp), so the consumers are the dense
    code, without a fence."""
    return pipeline.PipelineTmaAsync.create(
        barrier_storage=barrier_storage,
        num_stages=num_stages,
        producer_group=pipeline.CooperativeGroup(pipeline.Agent.Thread, 1),
        consumer_group=pipeline.CooperativeGroup(pipeline.Agent.Thread, consumer_warps),
        tx_count=tx_count,
        defer_sync=True,
    )


@cute.jit
def wait_empty(pipe: pipeline.PipelineAsync, state: pipeline.PipelineState):
    """Wait until the consumers released the stage (no transaction bytes announced)."""
    pipe.sync_object_empty.wait(state.index, state.phase)


@cute.jit
def fence_gathered():
    """The warp's cp.async copies have all landed and are visible to the async proxy (wgmma) of whichever
    thread acquires the barrier that lane 0 arrives on next."""
    cute.arch.cp_async_commit_group()
    cute.arch.cp_async_wait_group(0)
    cute.arch.fence_view_async_shared()
    cute.arch.sync_warp()


class PagedRowGather:
    """Geometry and device code of the gather of one (tile_n, row_elems) tile by ``threads`` threads."""

    def __init__(self, dtype, row_elems: int, tile_n: int, threads: int):
        self.dtype = dtype
        self.row_elems = row_elems
        self.tile_n = tile_n
        self.threads = threads
        self.elems_per_copy = COPY_BITS // dtype.width
        assert row_elems % self.elems_per_copy == 0
        self.threads_per_row = row_elems // self.elems_per_copy
        assert WARP % self.threads_per_row == 0, "a row must be copied by a power-of-two share of a warp"
        self.warp_rows = WARP // self.threads_per_row  # rows one warp copies per pass
        self.pass_rows = threads // self.threads_per_row
        assert tile_n % self.pass_rows == 0, f"tile_n {tile_n} is not a multiple of {self.pass_rows} rows"
        self.passes = tile_n // self.pass_rows
        self.rows_per_warp = self.passes * self.warp_rows  # rows whose offsets a warp computes per tile
        self.id_regs = (self.rows_per_warp + WARP - 1) // WARP

    def tiled_copy(self):
        atom = cute.make_copy_atom(
            cpasync.CopyG2SOp(cache_mode=cpasync.LoadCacheMode.GLOBAL), self.dtype, num_bits_per_copy=COPY_BITS
        )
        thr_layout = cute.make_ordered_layout((self.pass_rows, self.threads_per_row), order=(1, 0))
        return cute.make_tiled_copy_tv(atom, thr_layout, cute.make_layout((1, self.elems_per_copy)))

    def make_offsets(self) -> cute.Tensor:
        """Register buffer of the row offsets a lane owns for one tile."""
        return cute.make_rmem_tensor((self.id_regs,), Int64)

    @cute.jit
    def row_offsets(
        self,
        offsets: cute.Tensor,
        mKvIdx: cute.Tensor,
        mKvIndptr: cute.Tensor,
        batch: Int32,
        n_block: Int32,
        kv_len: Int32,
        page_div,
        page_stride: Int64,
        row_stride: Int64,
        ptid: Int32,
    ):
        """Element offsets (head 0, column 0) of this lane's rows of key block ``n_block``.

        Warp row ``j = lane + 32 i`` is tile row ``(j // warp_rows) * pass_rows + warp * warp_rows +
        j % warp_rows``: in pass ``m`` a thread copies warp row ``m * warp_rows + lane // threads_per_row``."""
        lane = ptid % WARP
        warp = ptid // WARP
        for i in cutlass.range_constexpr(self.id_regs):
            j = lane + WARP * i
            tile_row = (j // self.warp_rows) * self.pass_rows + warp * self.warp_rows + j % self.warp_rows
            r = cutlass.min(n_block * self.tile_n + tile_row, kv_len - 1)
            offsets[i] = row_offset(mKvIdx, mKvIndptr, batch, r, page_div, page_stride, row_stride)

    @cute.jit
    def copy_tile(
        self,
        mX: cute.Tensor,
        head_offset: Int64,
        tXsX: cute.Tensor,
        offsets: cute.Tensor,
        thr_copy: cute.ThrCopy,
        tiled_copy: cute.TiledCopy,
        ptid: Int32,
    ):
        """Issue the thread's 16-byte copies of one tile; ``tXsX`` is its (CPY, passes, 1) stage."""
        lane = ptid % WARP
        base = mX.iterator + head_offset
        for m in cutlass.range_constexpr(self.passes):
            j0 = m * self.warp_rows  # the pass's first warp row: its rows sit in one offset register
            src = j0 % WARP + lane // self.threads_per_row
            off = cute.arch.shuffle_sync(offsets[j0 // WARP], src)
            ptr = cute.make_ptr(self.dtype, (base + off).toint(), cute.AddressSpace.gmem, assumed_align=16)
            # every row of this view is the thread's own row: its partition picks its columns
            gX = cute.make_tensor(ptr, cute.make_layout((self.pass_rows, self.row_elems), stride=(0, 1)))
            cute.copy(tiled_copy, thr_copy.partition_S(gX)[None, 0, None], tXsX[None, m, None])
