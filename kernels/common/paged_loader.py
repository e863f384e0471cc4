"""Gathered K/V tiles from a paged cache: 16-byte ``cp.async`` row copies by a producer warpgroup.

Two gathers: :class:`PagedTileGather` (whole K/V stages, the gather path of the paged prefill: addresses written
against the stage's 128-byte-swizzled layout, ~half the instructions per copy of the partition-based one; measured
paged-v5: page 1 +6-10 %) and :class:`PagedRowGather` (any tile of rows through the DSL's partitions; the
TMA-box path's request tails). The notes below describe :class:`PagedRowGather`.

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
from cutlass._mlir.dialects import llvm
from cutlass.cute.nvgpu import cpasync
from cutlass.cutlass_dsl import dsl_user_op

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


def make_box_pipeline(num_stages: int, barrier_storage, consumer_warps: int, tx_count: int, producer_warps: int = 1):
    """The K or V pipeline of the TMA-box producer: the dense kernel's ``PipelineTmaAsync`` (one producer
    arrival per producer warp, together announcing the block's bytes; one elected release per consumer warp),
    so the consumers are the dense code, without a fence."""
    return pipeline.PipelineTmaAsync.create(
        barrier_storage=barrier_storage,
        num_stages=num_stages,
        producer_group=pipeline.CooperativeGroup(pipeline.Agent.Thread, producer_warps),
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


@dsl_user_op
def _cp_async_16(smem_addr: Int32, gmem_addr: Int64, smem_imm: int, gmem_imm: int, *, loc=None, ip=None):
    """One 16-byte ``cp.async.cg`` from ``gmem_addr + gmem_imm`` to shared ``smem_addr + smem_imm``; the constant
    offsets go into the instruction's immediates (no address arithmetic per copy)."""
    llvm.inline_asm(
        None,
        [Int32(smem_addr).ir_value(loc=loc, ip=ip), Int64(gmem_addr).ir_value(loc=loc, ip=ip)],
        f"cp.async.cg.shared.global [$0+{smem_imm}], [$1+{gmem_imm}], 16;",
        "r,l",
        has_side_effects=True,
        is_align_stack=False,
        asm_dialect=llvm.AsmDialect.AD_ATT,
    )


class PagedTileGather:
    """The gather of one (tile_n, row_elems) K or V stage by a producer warpgroup, written against the stage's
    physical layout (128-byte swizzle, the layout TMA writes and the consumers' wgmma reads):

    - a row is ``col_blocks`` 128-byte column blocks; in a pass a warp copies column block ``cb`` of 4 rows,
      8 lanes per row (lane ``8 q + j`` copies the 16-byte chunk ``j`` of row ``q``): whole 128-byte lines,
      4 per warp instruction, as the row-per-16-lanes gather;
    - tile row of warp ``w``, pass ``m``, lane row ``q``: ``16 m + 4 w + q``; its ``r % 8`` is the thread's
      constant, so the swizzled chunk (``j ^ (r % 8)``) and the smem address are fixed per thread up to a
      constant per pass and column block, which goes into the cp.async immediate; so does the column block's
      global offset;
    - lane ``L`` of warp ``w`` computes the byte offset of warp row ``L`` (tile row ``16 (L // 4) + 4 w +
      L % 4``: page id load, fast divmod, multiply-adds) one block ahead; a pass takes its row's offset with
      one 64-bit shuffle and adds the thread's base (tensor + head + chunk): 2 SHFL + 2 adds + ``col_blocks``
      cp.async per pass.
    """

    LANES_PER_ROW = 8  # 16-byte chunks of a 128-byte line
    WARP_ROWS = WARP // LANES_PER_ROW

    def __init__(self, dtype, row_elems: int, tile_n: int, threads: int):
        self.dtype = dtype
        self.elem_bytes = dtype.width // 8
        row_bytes = row_elems * self.elem_bytes
        assert row_bytes % 128 == 0, "rows of whole 128-byte column blocks (the 128-byte swizzle atom)"
        self.col_blocks = row_bytes // 128
        self.tile_n = tile_n
        self.warps = threads // WARP
        self.pass_rows = self.WARP_ROWS * self.warps
        assert tile_n % self.pass_rows == 0, f"tile_n {tile_n} is not a multiple of {self.pass_rows} rows"
        self.passes = tile_n // self.pass_rows
        assert self.passes * self.WARP_ROWS <= WARP, "one row offset per lane"
        self.id_regs = 1
        self.stage_bytes = tile_n * row_bytes

    def make_offsets(self) -> cute.Tensor:
        return cute.make_rmem_tensor((1,), Int64)

    @cute.jit
    def row_offsets(self, offsets: cute.Tensor, mKvIdx: cute.Tensor, mKvIndptr: cute.Tensor, batch: Int32,
                    n_block: Int32, kv_len: Int32, page_div, page_stride: Int64, row_stride: Int64, ptid: Int32):
        """Byte offset (head 0, column 0; ``page_stride``/``row_stride`` in bytes) of this lane's warp row of key
        block ``n_block``, rows clamped to the request's last one."""
        lane = ptid % WARP
        warp = ptid // WARP
        tile_row = (lane // self.WARP_ROWS) * self.pass_rows + warp * self.WARP_ROWS + lane % self.WARP_ROWS
        r = cutlass.min(n_block * self.tile_n + tile_row, kv_len - 1)
        offsets[0] = row_offset(mKvIdx, mKvIndptr, batch, r, page_div, page_stride, row_stride)

    def smem_thread(self, sX_addr: Int32, ptid: Int32) -> Int32:
        """Shared address of the thread's chunk in pass 0, column block 0, stage 0 (``sX_addr``: the 1024-byte
        aligned start of the stages)."""
        lane = ptid % WARP
        warp = ptid // WARP
        row = warp * self.WARP_ROWS + lane // self.LANES_PER_ROW  # the thread's row in pass 0; r % 8 in every pass
        chunk = (lane % self.LANES_PER_ROW) ^ (row % 8)
        return sX_addr + row * 128 + chunk * 16

    def gmem_thread(self, mX: cute.Tensor, head_off_bytes: Int64, ptid: Int32) -> Int64:
        """Byte address of the thread's chunk of row 0 of page 0 of this head (add a row offset)."""
        return mX.iterator.toint() + head_off_bytes + Int64((ptid % WARP) % self.LANES_PER_ROW * 16)

    @cute.jit
    def copy_tile(self, g_thread: Int64, s_stage: Int32, offsets: cute.Tensor, ptid: Int32):
        """Issue the thread's cp.async of one stage: ``s_stage`` = :meth:`smem_thread` + stage offset."""
        lane = ptid % WARP
        for m in cutlass.range_constexpr(self.passes):
            off = cute.arch.shuffle_sync(offsets[0], m * self.WARP_ROWS + lane // self.LANES_PER_ROW)
            src = g_thread + off
            for cb in cutlass.range_constexpr(self.col_blocks):
                _cp_async_16(s_stage, src, m * self.pass_rows * 128 + cb * self.tile_n * 128, cb * 128)
