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

The copies are published on the dense kernel's pipeline (:func:`make_kv_pipeline`) by the producer: each
thread waits for its copies (``cp.async.wait_group``), fences them to the async proxy, and one lane per
warp arrives on the stage's full barrier (:func:`publish_gather`), so the consumers wait on the same
barriers as on TMA-fed stages, with no fence of their own.
"""

from __future__ import annotations

import cutlass
import cutlass.cute as cute
import cutlass.pipeline as pipeline
from cutlass import Int32, Int64
from cutlass.cute.nvgpu import cpasync

from ...layouts.paged import row_offset

COPY_BITS = 128
WARP = 32


def make_kv_pipeline(num_stages: int, barrier_storage, producer_arrivals: int, consumer_warps: int, tx_count: int):
    """The K or V pipeline of a paged producer: a ``PipelineTmaAsync``, the dense kernel's, so the consumers
    (wait, one elected release per warp) are the dense code. The full barrier counts ``producer_arrivals``:
    1 where one warp issues TMA copies (``producer_acquire`` arrives with the tile's transaction bytes),
    else one per gathering warp (:func:`publish_gather`)."""
    return pipeline.PipelineTmaAsync.create(
        barrier_storage=barrier_storage,
        num_stages=num_stages,
        producer_group=pipeline.CooperativeGroup(pipeline.Agent.Thread, producer_arrivals),
        consumer_group=pipeline.CooperativeGroup(pipeline.Agent.Thread, consumer_warps),
        tx_count=tx_count,
        defer_sync=True,
    )


@cute.jit
def wait_empty(pipe: pipeline.PipelineAsync, state: pipeline.PipelineState):
    """Wait until the consumers released the stage (no transaction bytes announced: cp.async writes it)."""
    pipe.sync_object_empty.wait(state.index, state.phase)


@cute.jit
def publish_gather(pipe: pipeline.PipelineAsync, state: pipeline.PipelineState, pending: cutlass.Constexpr[int]):
    """The warp's cp.async copies of the stage are the commit groups older than its ``pending`` newest:
    wait for them, fence them from the generic to the async proxy (wgmma reads the stage), then one
    arrival per warp on the stage's full barrier. The consumers wait on it as on a TMA-fed stage: no fence
    on their side (it used to follow every K/V wait, on the path to each wgmma issue)."""
    cute.arch.cp_async_wait_group(pending)
    cute.arch.fence_view_async_shared()
    cute.arch.sync_warp()
    with cute.arch.elect_one():
        cute.arch.mbarrier_arrive(pipe.producer_get_barrier(state))


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
