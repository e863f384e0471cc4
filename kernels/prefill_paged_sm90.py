"""Prefill / append attention over a paged KV cache on Hopper (sm_90a), any page size (1 included).

The consumers and the epilogue are those of :class:`PrefillSm90` (inherited unchanged); only the
producer differs: Q by TMA as before, K/V either as TMA boxes of ``tma_box_rows`` rows inside one page
(page_size a multiple of the box: a compiled variant) or gathered row by row from the pages with 16-byte
cp.async (any page size; ``common/paged_loader.py``), both arriving on the dense kernel's barriers. Compile with :func:`compile_prefill_paged`; the API is
``cute_attn.BatchPrefillWithPagedKVCacheWrapper``.
"""

from __future__ import annotations

import os

os.environ.setdefault("CUTE_DSL_ARCH", "sm_90a")

import cuda.bindings.driver as cuda  # noqa: E402
import cutlass  # noqa: E402
import cutlass.cute as cute  # noqa: E402
import cutlass.pipeline as pipeline  # noqa: E402
import cutlass.utils.hopper_helpers as sm90_utils  # noqa: E402
from cutlass import Float32, Int32, Int64  # noqa: E402
from cutlass.cute.nvgpu import cpasync, warpgroup  # noqa: E402
from cutlass.tensor_utils import LayoutEnum  # noqa: E402

from .common.config import (  # noqa: E402
    WARPGROUP_THREADS,
    PrefillConfig,
    paged_kv_interleave,
    prefill_config,
    refuse_removed_switches,
)
from ..layouts.paged import (  # noqa: E402
    SWIZZLE_ROWS,
    box_page_slot,
    interleaved_group,
    kv_grouped,
    kv_interleaved,
    page_groups as page_groups_of,
)
from .common.paged_loader import (  # noqa: E402
    PagedRowGather,
    PagedTileGather,
    PipelineGather,
    fence_gathered,
    make_box_pipeline,
    wait_empty,
)
from .prefill_sm90 import DTYPES, TRACE_K_COLS, TRACE_V_COLS, WARP_THREADS, PrefillSm90  # noqa: E402

# (consumer warpgroups) -> (producer, consumer) registers. A producer warpgroup that gathers needs more than the
# 24 of a TMA producer (row offsets, page-table state). NARROW: 128 * 40 + 256 * 232 = 64512. WIDE (paged-v7):
# 128 * 72 + 256 * 216 = 64512: with 40 registers ptxas computes every pass's 64-bit global address of the
# gathers into one register pair, and each rewrite of that pair waits (long scoreboard) until the cp.async before
# it has read it; with 72 it rotates five pairs. The consumers' code is the same at 216 up to hd128 (hd256
# consumers spill at 216: they keep 232). With three consumer warpgroups the dense budget (32 / 160) stands.
NARROW_REGISTER_BUDGET = {2: (40, 232), 3: (32, 160)}
WIDE_REGISTER_BUDGET = {2: (72, 216), 3: (32, 160)}
WIDE_MAX_HEAD_DIM = 128
# A/B switch (build time): the WIDE budget for the gather path (head_dim <= 128). The TMA-box path keeps NARROW:
# WIDE there measured 0.5-1.5 % slower at page 64 (paged-v7 call 1; its producer spills vanish, yet ncu cycles +2 %)
WIDE_GATHERS = True

# Build-time switches (read when this module is imported). The manifest's compile key does not see them: a build with
# one changed goes into an artifact directory of its own (``--force --out DIR``), never into the one the API loads.
# CUTE_ATTN_PAGED_TRIM / CUTE_ATTN_PAGED_TMA_STORE_O: the dense kernel's diagonal-block trim (config ``trim_diagonal``,
# causal; the table's value) and its TMA store of O (config ``tma_store_o``). On by default since session 6 (H100,
# 3 processes: +2-5 % at 16 x 1k for every page size, within noise elsewhere; NOTES-prefill-paged 15); "0" turns one
# off (the paged config then takes ``config.PAGED_OFF``'s value). (The session-5 switches CUTE_ATTN_PAGED_K3 /
# CUTE_ATTN_PAGED_K3_LEAD and CUTE_ATTN_PAGED_BOX_LEAN did not pay on the H100 and were removed in session 6:
# NOTES-prefill-paged 16.)
PAGED_KEEP = tuple(
    field for field, env in (("trim_diagonal", "CUTE_ATTN_PAGED_TRIM"), ("tma_store_o", "CUTE_ATTN_PAGED_TMA_STORE_O"))
    if os.environ.get(env, "1") != "0"
)


# CUTE_ATTN_PAGED_KV_INTERLEAVE (kernels/common/config.py): the TMA-box variants (``tma_box_rows > 0``) with more
# than one 64-column half (hd128, hd256) get a K/V stage whose 8-row swizzle groups hold all their column halves side
# by side (the 128-byte-swizzle atom tiled columns first), so that one page piece of ``box_rows`` rows is one
# contiguous run of the stage and one TMA box (instead of one per half): layouts/paged.py
_kv_interleave_switch = paged_kv_interleave
KV_INTERLEAVE = _kv_interleave_switch()

# Session 11 switches, measured and removed (NOTES-prefill-paged 21): CUTE_ATTN_PAGED_BOX_WARPS (the boxes of a
# 2-3-box block over two warps is now the default, ``box_warps``), CUTE_ATTN_PAGED_GATHER_REGS (56 / 224 registers
# for the hd128 gathers: within noise) and CUTE_ATTN_PAGED_GATHER_ELECT (one empty-barrier arrival per consumer warp
# on the gather pipelines: -0.7..+0.6 %; code in da9412a; again as CUTE_ATTN_PAGED_ELECT_RELEASE in session 15, per
# clock: -0.4..-0.7 % at page 1, NOTES 27) and CUTE_ATTN_PAGED_BOX_REGS (56 / 224 registers for the box
# path: -1.1..+1.0 %) and CUTE_ATTN_PAGED_GATHER_OFF32 (32-bit gather row offsets, common/paged_loader.py: 3-4 %
# slower; again as CUTE_ATTN_PAGED_GATHER_OFF32B in session 15: 3-8 % slower per clock, NOTES 28) and
# CUTE_ATTN_PAGED_GATHER_PACE (session 15: nanosleep pacing of the gathers, 0..-1.3 % per clock, NOTES 29; session 14's
# CUTE_ATTN_PAGED_GATHER_SPREAD the same, NOTES 25) and CUTE_ATTN_PAGED_GATHER_LOOP (session 15: the passes as a loop,
# LDGSTS further apart in the stream: -1..-6 % per clock, NOTES 31) and CUTE_ATTN_PAGED_GATHER_WARPS (session 15: the
# page-1 gathers on producer warps 0-1 only, -3..-11 % per clock, NOTES 33). Session 16 (NOTES 34-35, code in ce73fa1):
# CUTE_ATTN_PAGED_BOX_ROWS (one 128-row box per block -1..-3 %, four 32-row boxes on four warps -0.5..-1.7 % x two
# 64-row boxes on two warps), CUTE_ATTN_PAGED_BOX_REGS2 (the box path at 24 / 240 or 56 / 224: within 1 %) and
# CUTE_ATTN_PAGED_BOX_EARLY (the box warps' page-id loads out of the issue path: page 16 -2..-4 %, page 64 -3..-5 %),
# CUTE_ATTN_PAGED_BOX_SPLIT (the box warps split by tensor, K on some, V on others: -0.1..-1.5 %; code in 4722d49),
# CUTE_ATTN_PAGED_VTAIL_FAST (the V-tail test as one compare per block: page 64 0..+0.5 %, page 16 -0.2..-0.9 %; NOTES 38),
# CUTE_ATTN_PAGED_GATHER_HALF (diagnostic: half of every row gathered, wrong by design; NOTES 39). Session 17:
# CUTE_ATTN_PAGED_BOX_CHUNK (the box warps' page ids per chunk of blocks, boxes at runtime stage offsets: page 64 +1.2..
# +3.2 %, page 16 +0.5..+2.6 % per clock; adopted for every grouped box variant, hd64 / hd128 / hd256, NOTES 41-45),
# CUTE_ATTN_PAGED_CHUNK_SPLIT (the chunked box warps split by tensor: page 16 -0.4..-1.1 %, page 64 -0.7..+1.0 %) and
# CUTE_ATTN_PAGED_CHUNK_NEST (the chunked block loop nested by chunk: page 64 -0.6..-1.4 %; with the split page 16
# -0.6..+0.6 %, page 64 -0.5..+1.1 %; NOTES 42, code in 34f13ae). Session 22: CUTE_ATTN_PAGED_OFF_LATE (the page-1
# gather's next-block offsets computed after the current block's copies instead of before them: -1.0..-1.5 %, NOTES 55).
# A build that sets one fails rather than build the default under an A/B label.
refuse_removed_switches(
    ("CUTE_ATTN_PAGED_BOX_WARPS", "CUTE_ATTN_PAGED_GATHER_REGS", "CUTE_ATTN_PAGED_GATHER_ELECT", "CUTE_ATTN_PAGED_BOX_REGS",
     "CUTE_ATTN_PAGED_GATHER_OFF32", "CUTE_ATTN_PAGED_ELECT_RELEASE", "CUTE_ATTN_PAGED_GATHER_OFF32B",
     "CUTE_ATTN_PAGED_GATHER_PACE", "CUTE_ATTN_PAGED_GATHER_SPREAD", "CUTE_ATTN_PAGED_GATHER_LOOP",
     "CUTE_ATTN_PAGED_GATHER_WARPS", "CUTE_ATTN_PAGED_BOX_ROWS", "CUTE_ATTN_PAGED_BOX_REGS2",
     "CUTE_ATTN_PAGED_BOX_EARLY", "CUTE_ATTN_PAGED_BOX_SPLIT", "CUTE_ATTN_PAGED_VTAIL_FAST",
     "CUTE_ATTN_PAGED_GATHER_HALF", "CUTE_ATTN_PAGED_BOX_CHUNK", "CUTE_ATTN_PAGED_CHUNK_SPLIT",
     "CUTE_ATTN_PAGED_CHUNK_NEST", "CUTE_ATTN_PAGED_OFF_LATE"),
    "kernels/prefill_paged_sm90.py, bench/NOTES-prefill-paged.md 21",
)


class PrefillPagedSm90(PrefillSm90):
    """:class:`PrefillSm90` with K/V loaded from a paged cache: overrides the K/V hooks (``_prefetch_kv``,
    ``_kv_pipelines``, ``produce``) and shares the dense kernel body, consumers and epilogue.

    ==========  ============  =================================================================
    role        warps         work per tile (tile_m query rows of one head, key blocks high -> low)
    ==========  ============  =================================================================
    producer    wg 0 (all 4)  gathers (``tma_box_rows == 0``): K(first) -> Q (TMA, warp 0) ->
    (gathers)                 [K(j+1), V(j)] -> V(last). A gather (``PagedTileGather``): the
                              lane-owned row byte offsets of the block (page id + fast divmod,
                              computed one block ahead), one 64-bit shuffle per pass to the 8
                              lanes of each row, 16-byte cp.async to the thread's fixed swizzled
                              chunk (pass and column block in the instruction's immediates), then
                              cp.async.mbarrier.arrive.noinc on the stage's full barrier.
    producer    wg 0, warp 0  TMA boxes (``tma_box_rows`` = B > 0, page_size % B == 0): the same
    (boxes)     (all 4 with   order; a block is tile_n / B boxes, lane p holding box p's page id
                2+ boxes)     and first slot (``layouts.paged.box_page_slot``), one 4-d TMA
                              (d, slot, head, page) per box onto the stage's full barrier. With
                              ``box_warps`` = 4 (4 or more boxes: box 16) or 2 (2-3 boxes: box 64
                              at hd128) warp w issues the boxes b % box_warps == w after its own
                              empty-barrier wait and arrival with its bytes (one arrival per box
                              warp); a 1-box block: warp 0 issues it with the dense producer's
                              acquire; the other warps exit. K boxes past the
                              request's end are clamped to its last box (masked keys); the V
                              boxes past it (last block only) are gathered by warp 0's lanes
                              with rows clamped to the last row (P = 0 must meet finite V), then
                              waited for and fenced before its arrival, which announces only the
                              TMA bytes (the other box warps arrive without bytes).
    consumer i  wg 1 + i      as PrefillSm90 (S = Q K^T, masks, online softmax, O += P V,
                              ping-pong, epilogue): unchanged code.
    ==========  ============  =================================================================

    Box ids, chunked (``produce_boxes_chunked``; the grouped box variants, ``layouts.paged.kv_grouped``, with m =
    ceil(boxes / box_warps) <= 2 boxes per warp: hd64, hd128, hd256 at page 16 and 64): lane l of box warp w holds the
    TMA group coordinate of box ``w + (l % m) *
    box_warps`` of the block ``l // m`` positions into a chunk of 32 / m blocks, the next chunk loaded when one is
    entered, ``kv_indptr[b]`` once per tile; a block costs the warp m shuffles, its V ids are the K ids of the block
    before, and the boxes go to their runtime stage offsets (no per-box warp tests). Session 17 (H100, per clock x the
    lane-per-box ids): hd128 page 64 +1.2..+3.2 %, page 16 +0.5..+2.6 %; hd256 and hd64 +1..+3 %
    (bench/NOTES-prefill-paged.md 41, 44, 45).

    Pipelines:

    - ``q``: ``PipelineTmaAsync``, 1 stage (as PrefillSm90).
    - ``k``, ``v``, gathers: :class:`PipelineGather` (``PipelineCpAsync``), ``stages`` each; full
      barrier: 128 producer arrivals (noinc, each fires when that thread's copies landed); empty barrier: every
      consumer thread. ``consumer_wait`` adds the generic -> async proxy fence that wgmma reads need after cp.async
      writes. (Run 24: moving that fence to the producer, which then waits for its copies, was 5-11 % slower.)
    - ``k``, ``v``, TMA boxes: ``PipelineTmaAsync``, the dense kernel's (one producer arrival per box warp, together
      announcing the block's bytes, one elected release per consumer warp, no fence). Measured (paged-v5, H100,
      4 x 4k, ncu cycles): box 16 on four warps 0.972x of dense, on one warp 0.931x (it shared SMSP 0 with two
      consumer warps and issued ~40 % more there than the other sub-partitions).

    Rows at or past kv_len are clamped to the last row (valid memory, masked keys). The cache is the
    NHD-shaped view ``(num_pages, page_size, num_kv_heads, d)`` with any strides (HND is a transposed
    view); K and V share their strides, so one offset per row serves both.
    sO: its own buffer where the dense config has one (``separate_o``, hd <= 192: Q released after the tile's
    last S GEMM, per-warpgroup epilogue, as PrefillSm90 v3); aliasing sQ for hd256. Measured (H100, run 19,
    bench/NOTES-prefill-paged.md): one release arrival per consumer warp and a third K/V stage (with sO
    aliased) were both slower, not kept.
    Registers (2 consumer warpgroups, producer / consumers): ``WIDE_REGISTER_BUDGET`` (72 / 216) for the gathers up
    to hd128 without the double-buffered P (switch ``WIDE_GATHERS``; today hd64), else ``NARROW_REGISTER_BUDGET``
    (40 / 232).
    P: the config's double-buffered P where the table has it (hd128), as the dense kernel (session 7).
    O and the causal diagonal: the dense kernel's TMA store of O and diagonal-block trim (the table's values; on since
    session 6, switches ``CUTE_ATTN_PAGED_TMA_STORE_O=0`` / ``CUTE_ATTN_PAGED_TRIM=0`` turn them off).
    """

    # the dense kernel's split_kv (pieces of tiles over the key axis, config.split_kv: hd128 non-causal's 192 x 80 row):
    # the producers walk a work row's piece of key blocks (``PrefillSm90._key_blocks``), the consumers and the merge are
    # dense's
    SPLIT_CAPABLE = True
    # nor the dense kernel's 2-CTA cluster switch (NOTES-prefill 27): its K/V source has no multicast form
    CLUSTER_CAPABLE = False

    def __init__(self, dtype: str, head_dim: int, head_dim_v: int, causal: bool, tma_box_rows: int = 0,
                 tile_m: int = 0):
        self.box_rows = tma_box_rows
        # CUTE_ATTN_PAGED_KV_INTERLEAVE: the TMA-box paths with two or more 64-column halves (128-byte swizzle)
        self.kv_interleave = KV_INTERLEAVE and kv_interleaved(head_dim, tma_box_rows, DTYPES[dtype].width // 8)
        # the box path's TMA view as 8-row groups (layouts.paged.kv_grouped): the interleaved variants and, with one
        # column half, hd64 (whose stage layout is the dense one); the chunked producer needs it
        self.kv_grouped = KV_INTERLEAVE and kv_grouped(head_dim, tma_box_rows, DTYPES[dtype].width // 8)
        super().__init__(dtype, head_dim, head_dim_v, causal, tile_m)
        self.atom_cols = 128 * 8 // self.dtype.width  # columns of a 128-byte swizzle row
        self.halves = head_dim // self.atom_cols
        assert head_dim == head_dim_v, "K and V rows share one gather geometry"
        wide = WIDE_GATHERS and not tma_box_rows and head_dim <= WIDE_MAX_HEAD_DIM
        if self._double_p_cfg or self.q_rs:
            # the config's double-buffered P (hd128, hd192) needs the consumers at 232 registers: at WIDE's 216 they
            # spill and ptxas serializes every wgmma (bench/NOTES-prefill-paged.md 18); so does Q's register fragment
            # (``q_rs``: the paged config turns it off but where it takes the dense row, ``PAGED_DENSE_ROWS``: hd64 causal's)
            wide = False
        budget = WIDE_REGISTER_BUDGET if wide else NARROW_REGISTER_BUDGET
        self.producer_regs, self.consumer_regs = budget[self.consumer_wgs]
        if tma_box_rows:
            assert self.tile_n % tma_box_rows == 0 and tma_box_rows % 8 == 0, "whole boxes of whole swizzle atoms"
            self.boxes = self.tile_n // tma_box_rows
            assert self.boxes <= WARP_THREADS, "one lane per box holds its page id"
            # producer warps issuing the boxes of a block (warp w: boxes b with b % box_warps == w): with 4 or more
            # boxes all four warps of the producer warpgroup, one per SM sub-partition, so that no sub-partition
            # carries the whole producer's instruction stream beside its two consumer warps; with 2-3 boxes (page 64
            # at hd128) two warps (session 11, H100, five processes, x page 64 on warp 0 alone: 4 x 4k +1.1 %, append
            # +0.8 %, 16 x 1k +0.1 %; NOTES-prefill-paged 21)
            self.box_warps = WARPGROUP_THREADS // WARP_THREADS if self.boxes >= 4 else min(self.boxes, 2)
            # the tail boxes of a request's last V block, by the producer warp's 32 lanes
            self.gather = PagedRowGather(self.dtype, head_dim, tma_box_rows, WARP_THREADS)
            # each box warp's page ids per chunk of blocks, its boxes at runtime stage offsets (``produce_boxes_chunked``:
            # the grouped variants with at most two boxes per warp; session 17, H100, per clock x the lane-per-box ids of
            # ``produce_boxes``: hd128 page 64 +1.2..+3.2 %, page 16 +0.5..+2.6 %, hd64 / hd256 +1..+3 %, NOTES 41-45)
            # boxes per box warp per block (the last warps one fewer where box_warps does not divide boxes)
            self.warp_boxes = -(-self.boxes // self.box_warps)
            self.box_chunk = self.kv_grouped and self.warp_boxes <= 2
        else:
            self.gather = PagedTileGather(self.dtype, head_dim, self.tile_n, WARPGROUP_THREADS)
            self.box_chunk = False

    def _config(self, head_dim: int, head_dim_v: int, causal: bool, tile_m: int) -> PrefillConfig:
        """The paged config (the build-time switches ``PAGED_KEEP`` applied; the gather variant's softmax fields)."""
        return prefill_config(head_dim, head_dim_v, causal, tile_m, paged=True, paged_keep=PAGED_KEEP,
                              gather=not self.box_rows)

    # ------------------------------------------------------------------------------------ layouts

    def _kv_layout(self, rows: int, cols: int):
        """K/V stages with ``kv_interleave``: the 128-byte-swizzle atom (8 rows x 64 elements) tiled columns first,
        so 8-row group g holds its column halves at + h * 1 KiB and starts at g * (cols * 16) bytes (hd128: 2 KiB):
        the rows [16 p, 16 p + 16) of a stage are one contiguous 4 KiB run. The wgmma descriptors see it as K-major
        B with SBO = the group stride (S = Q K^T) and as MN-major B with LBO = 1 KiB, SBO = the group stride
        (O = P V); both derived from this layout by the partitions, as before."""
        atom = warpgroup.make_smem_layout_atom(
            sm90_utils.get_smem_layout_atom(LayoutEnum.ROW_MAJOR, self.dtype, cols), self.dtype
        )
        return cute.tile_to_shape(atom, (rows, cols, self.stages), order=(1, 0, 2))

    def _layouts(self):
        sQ_layout, sK_layout, sV_layout, sO_layout = super()._layouts()
        if self.kv_interleave:
            sK_layout = self._kv_layout(self.tile_n, self.head_dim)
            sV_layout = self._kv_layout(self.tile_n, self.head_dim_v)
        return sQ_layout, sK_layout, sV_layout, sO_layout

    def _ibox_shape(self):
        """``kv_grouped``: a box as (64 columns, 8 rows, column halves, 8-row groups)."""
        return (self.atom_cols, 8, self.halves, self.box_rows // 8)

    def _ibox_order(self):
        """``kv_grouped``: (64 columns, 8 rows, halves, groups) -> the (box_rows, d) tile's column-major index."""
        r = self.box_rows
        return cute.make_layout(self._ibox_shape(), stride=(r, 1, r * self.atom_cols, 8))

    # ------------------------------------------------------------------------------------ host

    @cute.jit
    def __call__(
        self,
        mQ: cute.Tensor,  # (total_q, h_q, d)
        mK: cute.Tensor,  # (num_pages, page_size, h_k, d), NHD-shaped view, any strides
        mV: cute.Tensor,  # (num_pages, page_size, h_k, dv), the strides of mK
        mO: cute.Tensor,  # (total_q, h_q, dv)
        mLse: cute.Tensor,  # (h_q, total_q) float32, natural log
        mCuSeqlensQ: cute.Tensor,  # (batch + 1,) int32
        mCuSeqlensK: cute.Tensor,  # (batch + 1,) int32: prefix sums of the kv lengths
        mKvIndptr: cute.Tensor,  # (batch + 1,) int32: pages of request b are kv_indices[indptr[b]:]
        mKvIdx: cute.Tensor,  # (nnz_pages,) int32
        mWork: cute.Tensor,  # (table rows + num_work, 4) int32: slot table, then (batch, m_block, q_head, split) rows
        mPart: cute.Tensor,  # (pieces * tile_m, dv + 1) float32: split_kv partial O and LSE (column dv) per piece row
        mCount: cute.Tensor,  # (groups * 4,) int32: split_kv pieces finished per (group, consumer warpgroup), zeroed
        num_ctas: Int32,
        softmax_scale: Float32,
        stream: cuda.CUstream,
    ):
        mQ, mO = [cute.make_tensor(t.iterator, cute.select(t.layout, mode=[0, 2, 1])) for t in (mQ, mO)]
        sQ_layout, sK_layout, sV_layout, sO_layout = self._layouts()
        tma_Q, gmem_Q = cpasync.make_tiled_tma_atom(
            cpasync.CopyBulkTensorTileG2SOp(), mQ, sQ_layout, (self.tile_m, self.head_dim)
        )
        self.tx_bytes_q = cute.size_in_bytes(self.dtype, sQ_layout)
        if cutlass.const_expr(self.box_rows > 0):
            if cutlass.const_expr(self.kv_grouped):
                # (num_pages, page_size, h_k, d) -> (64 columns, 8 rows, column halves, 8-row groups, h_k): the
                # rows of all pages as 8-row groups of the cache's row stride (group ``page * page_groups + slot /
                # 8``, page_groups = page stride / (8 row strides); the host checks that it is whole: NHD and HND
                # both; extent up to the last page's last group), the columns in 128-byte halves. A box is
                # (64, 8, halves, box_rows / 8) of one head: the stage's order, one contiguous run of it
                box = self._ibox_shape()
                box_smem = cute.composition(
                    cute.composition(
                        cute.select(sK_layout, mode=[0, 1]),
                        (cute.make_layout(self.box_rows), cute.make_layout(self.head_dim)),
                    ),
                    self._ibox_order(),
                )
                views = [
                    cute.make_tensor(
                        t.iterator,
                        cute.make_layout(
                            (self.atom_cols, 8, self.halves,
                             (t.shape[0] - 1) * Int32(page_groups_of(t.stride[0], t.stride[1]))
                             + t.shape[1] // SWIZZLE_ROWS, t.shape[2]),
                            stride=(t.stride[3], t.stride[1], self.atom_cols * t.stride[3], SWIZZLE_ROWS * t.stride[1],
                                    t.stride[2]),
                        ),
                    )
                    for t in (mK, mV)
                ]
            else:
                # (num_pages, page_size, h_k, d) -> (page_size, d, h_k, num_pages): a box is (box_rows, d) of one
                # page and head, the page id a coordinate; its smem is a box_rows slice of the K/V stage layout
                box = (self.box_rows, self.head_dim)
                box_smem = cute.composition(
                    cute.select(sK_layout, mode=[0, 1]), (cute.make_layout(box[0]), cute.make_layout(box[1]))
                )
                views = [cute.make_tensor(t.iterator, cute.select(t.layout, mode=[1, 3, 2, 0])) for t in (mK, mV)]
            tma_K, gmem_K, tma_V, gmem_V = [
                x
                for t in views
                for x in cpasync.make_tiled_tma_atom(cpasync.CopyBulkTensorTileG2SOp(), t, box_smem, box)
            ]
            # the box's bytes (its smem layout is strided: the cosize would count the gaps)
            self.tx_bytes_box = self.box_rows * self.head_dim * self.dtype.width // 8
            self.tx_bytes_kv = self.tx_bytes_box * self.boxes
            kv = (mV, tma_K, gmem_K, tma_V, gmem_V, mKvIndptr, mKvIdx)
        else:
            kv = (mK, mV, mKvIndptr, mKvIdx)

        # own sO where the dense config has one (hd <= 192): Q released after the tile's last S GEMM, per-WG epilogue
        self.separate_o = self._separate_o_cfg
        # the config's double-buffered P, as the dense kernel (the consumers' loop is then dense's)
        self.double_p = self._double_p_cfg
        self.shared_storage = self._shared_storage(sQ_layout, sK_layout, sV_layout, sO_layout)
        self._launch(tma_Q, gmem_Q, kv, mO, mLse, mCuSeqlensQ, mCuSeqlensK, mWork, num_ctas, softmax_scale, stream,
                     (mPart, mCount))

    # ------------------------------------------------------------------------------------ device hooks

    def _prefetch_kv(self, kv):
        if cutlass.const_expr(self.box_rows > 0):
            cpasync.prefetch_descriptor(kv[1])
            cpasync.prefetch_descriptor(kv[3])

    def _kv_pipelines(self, storage):
        if cutlass.const_expr(self.box_rows > 0):
            return [make_box_pipeline(self.stages, m.data_ptr(), self.consumer_warps, self.tx_bytes_kv, self.box_warps)
                    for m in (storage.mbar_k, storage.mbar_v)]
        return [PipelineGather.make(self.stages, m.data_ptr(), WARPGROUP_THREADS, self.consumer_threads)
                for m in (storage.mbar_k, storage.mbar_v)]

    @cute.jit
    def produce(
        self,
        tma_Q: cute.CopyAtom,
        mQ: cute.Tensor,
        kv: tuple,
        smem: tuple,  # (sQ, sK, sV)
        pipes: tuple,  # (pipe_q, pipe_k, pipe_v)
        walk: tuple,  # (mCuSeqlensQ, mCuSeqlensK, scheduler, blocks)
        tidx: Int32,
    ):
        """TMA boxes: warp 0 (warps 1-3 exit); gathers: the whole producer warpgroup."""
        args = (tma_Q, mQ, kv, smem, pipes, walk, tidx)
        if cutlass.const_expr(self.box_rows > 0):
            if cute.arch.make_warp_uniform(cute.arch.warp_idx()) < self.box_warps:
                if cutlass.const_expr(self.box_chunk):
                    self.produce_boxes_chunked(*args)
                else:
                    self.produce_boxes(*args)
        else:
            self.produce_gathers(*args)

    # ------------------------------------------------------------------------------------ producer: gathers

    @cute.jit
    def produce_gathers(
        self,
        tma_Q: cute.CopyAtom,
        mQ: cute.Tensor,
        kv: tuple,
        smem: tuple,  # (sQ, sK, sV)
        pipes: tuple,  # (pipe_q, pipe_k, pipe_v)
        walk: tuple,  # (mCuSeqlensQ, mCuSeqlensK, scheduler, blocks)
        ptid: Int32,
    ):
        mK, mV, mKvIndptr, mKvIdx = kv
        sQ, sK, sV = smem
        pipe_q, pipe_k, pipe_v = pipes
        mCuSeqlensQ, mCuSeqlensK, scheduler, blocks = walk
        warp_idx = cute.arch.make_warp_uniform(cute.arch.warp_idx())
        q_per_kv = mQ.shape[2] // mK.shape[2]
        page_div = cute.FastDivmodDivisorV2(mK.shape[1])
        page_stride = Int64(mK.stride[0]) * self.gather.elem_bytes
        row_stride = Int64(mK.stride[1]) * self.gather.elem_bytes
        head_stride = Int64(mK.stride[2]) * self.gather.elem_bytes
        # the thread's shared addresses (stage 0) and its chunk's column in every row
        s_k = self.gather.smem_thread(sK.iterator.toint(), ptid)
        s_v = self.gather.smem_thread(sV.iterator.toint(), ptid)
        # byte offsets (lane-owned rows) of the V block to copy next, the K block to copy next and the one after
        off_v = self.gather.make_offsets()
        off_k = self.gather.make_offsets()
        off_pf = self.gather.make_offsets()

        q_state = pipeline.make_pipeline_state(pipeline.PipelineUserType.Producer, 1)
        kv_state = pipeline.make_pipeline_state(pipeline.PipelineUserType.Producer, self.stages)
        first, end, step = scheduler.row_range()
        for rnd in cutlass.range(first, end, step, unroll=1):
            tile, seq, tQgQ, tQsQ = self._producer_tile(walk, rnd, tma_Q, mQ, sQ)
            head_off = Int64(tile.q_head // q_per_kv) * head_stride
            g_k = self.gather.gmem_thread(mK, head_off, ptid)
            g_v = self.gather.gmem_thread(mV, head_off, ptid)
            offsets = (mKvIdx, mKvIndptr, tile.batch)
            n_lo, n_hi = self._key_blocks(seq, tile.m_block, tile.split, blocks)
            if n_hi > n_lo:
                self.gather.row_offsets(off_v, *offsets, n_hi - 1, seq.kv_len, page_div, page_stride, row_stride, ptid)
                self.gather.row_offsets(
                    off_k, *offsets, cutlass.max(n_hi - 2, n_lo), seq.kv_len, page_div, page_stride, row_stride, ptid
                )
                self._trace_tag(kv_state, rnd, n_hi - 1, ptid)
                self._gather(pipe_k, g_k, s_k, off_v, kv_state, ptid, TRACE_K_COLS)
            if warp_idx == 0:
                self._load_q(pipe_q, tma_Q, tQgQ, tQsQ, q_state)
            q_state.advance()
            if n_hi > n_lo:
                # K of block n goes out before V of block n + 1: the consumers need them in that order
                for i in cutlass.range(n_hi - n_lo - 1, unroll=1):
                    n_block = n_hi - 2 - i
                    # the page ids of the block after this one load while this block's copies issue (ptxas puts the
                    # offset arithmetic, which waits for them, before this block's K copies; computing it after the
                    # V copies instead lost 1-1.5 %: session 22, NOTES-prefill-paged 55)
                    self.gather.row_offsets(
                        off_pf, *offsets, cutlass.max(n_block - 1, n_lo), seq.kv_len, page_div, page_stride, row_stride,
                        ptid,
                    )
                    v_state = kv_state.clone()
                    kv_state.advance()
                    self._trace_tag(kv_state, rnd, n_block, ptid)
                    self._gather(pipe_k, g_k, s_k, off_k, kv_state, ptid, TRACE_K_COLS)
                    self._gather(pipe_v, g_v, s_v, off_v, v_state, ptid, TRACE_V_COLS)
                    off_v[0] = off_k[0]
                    off_k[0] = off_pf[0]
                self._gather(pipe_v, g_v, s_v, off_v, kv_state, ptid, TRACE_V_COLS)
                kv_state.advance()
        self._trace_end_p(kv_state, first, end, step, ptid)

    @cute.jit
    def _gather(
        self,
        pipe: pipeline.PipelineAsync,
        g_thread: Int64,
        s_thread: Int32,
        offsets: cute.Tensor,
        state: pipeline.PipelineState,
        ptid: Int32,
        cols: cutlass.Constexpr = None,
    ):
        """One K or V block gathered (``cols``: the ``TRACE`` build's stamps, thread 0's view of the block)."""
        self._stamp_p(state, cols, 0)
        pipe.producer_acquire(state)
        self._stamp_p(state, cols, 1)
        self._stamp_p(state, cols, 2)
        self.gather.copy_tile(g_thread, s_thread + state.index * self.gather.stage_bytes, offsets, ptid)
        self._stamp_p(state, cols, 3)
        pipe.producer_commit(state)

    # ------------------------------------------------------------------------------------ producer: TMA boxes

    @cute.jit
    def produce_boxes(
        self,
        tma_Q: cute.CopyAtom,
        mQ: cute.Tensor,
        kv: tuple,
        smem: tuple,  # (sQ, sK, sV)
        pipes: tuple,  # (pipe_q, pipe_k, pipe_v)
        walk: tuple,  # (mCuSeqlensQ, mCuSeqlensK, scheduler, blocks)
        tidx: Int32,
    ):
        """The TMA path (page_size % box_rows == 0), producer warp 0: K/V blocks as ``boxes`` TMA boxes of
        ``box_rows`` rows, each inside one page; lane ``p`` holds box ``p``'s page id and first slot. Since session 17
        every shipped box variant takes ``produce_boxes_chunked``; this one serves the builds without the grouped view
        (``CUTE_ATTN_PAGED_KV_INTERLEAVE=0``)."""
        mV, tma_K, gmem_K, tma_V, gmem_V, mKvIndptr, mKvIdx = kv
        sQ, sK, sV = smem
        pipe_q, pipe_k, pipe_v = pipes
        mCuSeqlensQ, mCuSeqlensK, scheduler, blocks = walk
        lane = tidx % WARP_THREADS
        warp = cute.arch.make_warp_uniform(cute.arch.warp_idx())
        q_per_kv, page_div, page_groups = self._box_geometry(mQ, mV, gmem_K)
        q_state = pipeline.make_pipeline_state(pipeline.PipelineUserType.Producer, 1)
        kv_state = pipeline.make_pipeline_state(pipeline.PipelineUserType.Producer, self.stages)
        first, end, step = scheduler.row_range()
        for rnd in cutlass.range(first, end, step, unroll=1):
            tile, seq, tQgQ, tQsQ = self._producer_tile(walk, rnd, tma_Q, mQ, sQ)
            kv_head, gK, gV = self._box_views(tile, q_per_kv, gmem_K, gmem_V)
            req = (mKvIdx, mKvIndptr, tile.batch, seq.kv_len, page_div, page_groups)
            n_lo, n_hi = self._key_blocks(seq, tile.m_block, tile.split, blocks)
            # box ids (lane p: box p's page and first slot) of the V block to load next, of the K block to load
            # next and of the block after it (its page ids load while this block's copies issue); loop-carried
            page_v, slot_v, page_k, slot_k = Int32(0), Int32(0), Int32(0), Int32(0)
            if n_hi > n_lo:
                page_v, slot_v = self._box_ids(*req, n_hi - 1, lane)
                page_k, slot_k = self._box_ids(*req, cutlass.max(n_hi - 2, n_lo), lane)
                self._trace_tag(kv_state, rnd, n_hi - 1, tidx)
                self._load_boxes(pipe_k, tma_K, gK, sK, page_v, slot_v, warp, kv_state, TRACE_K_COLS)
            if warp == 0:
                self._load_q(pipe_q, tma_Q, tQgQ, tQsQ, q_state)
            q_state.advance()
            if n_hi > n_lo:
                tail = (mV, kv_head, tile.batch, seq.kv_len, mKvIdx, mKvIndptr, page_div, lane, warp)
                for i in cutlass.range(n_hi - n_lo - 1, unroll=1):
                    n_block = n_hi - 2 - i
                    page_pf, slot_pf = self._box_ids(*req, cutlass.max(n_block - 1, n_lo), lane)
                    v_state = kv_state.clone()
                    kv_state.advance()
                    self._trace_tag(kv_state, rnd, n_block, tidx)
                    self._load_boxes(pipe_k, tma_K, gK, sK, page_k, slot_k, warp, kv_state, TRACE_K_COLS)
                    self._load_v_boxes(pipe_v, tma_V, gV, sV, page_v, slot_v, n_block + 1, tail, v_state)
                    page_v, slot_v = page_k, slot_k
                    page_k, slot_k = page_pf, slot_pf
                self._load_v_boxes(pipe_v, tma_V, gV, sV, page_v, slot_v, n_lo, tail, kv_state)
                kv_state.advance()
        self._trace_end_p(kv_state, first, end, step, tidx)

    @cute.jit
    def produce_boxes_chunked(
        self,
        tma_Q: cute.CopyAtom,
        mQ: cute.Tensor,
        kv: tuple,
        smem: tuple,  # (sQ, sK, sV)
        pipes: tuple,  # (pipe_q, pipe_k, pipe_v)
        walk: tuple,  # (mCuSeqlensQ, mCuSeqlensK, scheduler, blocks)
        tidx: Int32,
    ):
        """``produce_boxes`` for the grouped boxes (``kv_grouped``), with the page ids of a chunk of key blocks per load.

        Box warp w issues the boxes ``w + j * box_warps`` (j < m, m = boxes / box_warps) of every block. Its lane
        ``l`` holds the TMA group coordinate of box ``w + (l % m) * box_warps`` of the block ``l // m`` positions into
        a chunk (position p: block ``n_hi - 1 - p`` of the row's blocks ``[n_lo, n_hi)``, the producer's order), so a chunk is 32 / m blocks. The
        chunk after the current one is loaded when the current one is entered (one chunk ahead), kv_indptr[b] once
        per tile; a block's ids are m shuffles of the current chunk, and its V ids one block later are those same
        values (carried). The V block holding the request's end (one compare per block finds it) takes
        ``_load_v_boxes``'s tail path with the lane-per-box ids of ``_box_ids``."""
        mV, tma_K, gmem_K, tma_V, gmem_V, mKvIndptr, mKvIdx = kv
        sQ, sK, sV = smem
        pipe_q, pipe_k, pipe_v = pipes
        mCuSeqlensQ, mCuSeqlensK, scheduler, blocks = walk
        lane = tidx % WARP_THREADS
        warp = cute.arch.make_warp_uniform(cute.arch.warp_idx())
        m = self.warp_boxes
        chunk = WARP_THREADS // m
        q_per_kv, page_div, page_groups = self._box_geometry(mQ, mV, gmem_K)
        # this lane's (block position in a chunk, box of the block)
        lane_pos = lane // m
        lane_box = warp + (lane % m) * self.box_warps
        if cutlass.const_expr(self.boxes % self.box_warps):
            lane_box = cutlass.min(lane_box, self.boxes - 1)  # (a warp's missing last box: any valid id)
        q_state = pipeline.make_pipeline_state(pipeline.PipelineUserType.Producer, 1)
        kv_state = pipeline.make_pipeline_state(pipeline.PipelineUserType.Producer, self.stages)
        first, end, step = scheduler.row_range()
        for rnd in cutlass.range(first, end, step, unroll=1):
            tile, seq, tQgQ, tQsQ = self._producer_tile(walk, rnd, tma_Q, mQ, sQ)
            kv_head, gK, gV = self._box_views(tile, q_per_kv, gmem_K, gmem_V)
            req = (mKvIdx, mKvIndptr, tile.batch, seq.kv_len, page_div, page_groups)
            first_page = mKvIndptr[tile.batch]
            last_box = (seq.kv_len - 1) // self.box_rows * self.box_rows
            full_blocks = seq.kv_len // self.tile_n
            n_lo, n_hi = self._key_blocks(seq, tile.m_block, tile.split, blocks)
            walk_ids = (mKvIdx, first_page, last_box, page_div, page_groups, n_hi, lane_pos, lane_box)
            # (a tile without keys loads nothing: its request may have no page)
            cur, nxt = Int32(0), Int32(0)
            if n_hi > n_lo:
                cur = self._chunk_ids(*walk_ids, 0)
                if n_hi - n_lo > chunk:
                    nxt = self._chunk_ids(*walk_ids, chunk)
            # this warp's ids of the V block to load next (position 0)
            v0 = cute.arch.shuffle_sync(cur, 0)
            v1 = v0
            if cutlass.const_expr(m == 2):
                v1 = cute.arch.shuffle_sync(cur, 1)
            if n_hi > n_lo:
                self._trace_tag(kv_state, rnd, n_hi - 1, tidx)
                self._load_boxes(pipe_k, tma_K, gK, sK, (v0, v1), None, warp, kv_state, TRACE_K_COLS)
            if warp == 0:
                self._load_q(pipe_q, tma_Q, tQgQ, tQsQ, q_state)
            q_state.advance()
            if n_hi > n_lo:
                tail = (mV, kv_head, tile.batch, seq.kv_len, mKvIdx, mKvIndptr, page_div, lane, warp)
                for i in cutlass.range(n_hi - n_lo - 1, unroll=1):
                    n_block = n_hi - 2 - i
                    pos = (i + 1) % chunk
                    if pos == 0:
                        cur = nxt
                        nxt = self._chunk_ids(*walk_ids, i + 1 + chunk)
                    k0 = cute.arch.shuffle_sync(cur, pos * m)
                    k1 = k0
                    if cutlass.const_expr(m == 2):
                        k1 = cute.arch.shuffle_sync(cur, pos * m + 1)
                    v_state = kv_state.clone()
                    kv_state.advance()
                    self._trace_tag(kv_state, rnd, n_block, tidx)
                    self._load_boxes(pipe_k, tma_K, gK, sK, (k0, k1), None, warp, kv_state, TRACE_K_COLS)
                    self._load_v_chunked(pipe_v, tma_V, gV, sV, (v0, v1), n_block + 1, full_blocks, req, tail, v_state)
                    v0 = k0
                    v1 = k1
                self._load_v_chunked(pipe_v, tma_V, gV, sV, (v0, v1), n_lo, full_blocks, req, tail, kv_state)
                kv_state.advance()
        self._trace_end_p(kv_state, first, end, step, tidx)

    def _box_geometry(self, mQ, mV, gmem_K):
        """The box producers' (q heads per kv head, page-size divisor, 8-row groups per page or None)."""
        if cutlass.const_expr(self.kv_grouped):
            q_per_kv = mQ.shape[2] // mV.shape[2]
            page_div = cute.FastDivmodDivisorV2(mV.shape[1])
            # 8-row groups of the TMA group mode per page (page stride / (8 row strides))
            return q_per_kv, page_div, Int32(page_groups_of(mV.stride[0], mV.stride[1]))
        return mQ.shape[2] // gmem_K.shape[2], cute.FastDivmodDivisorV2(gmem_K.shape[0]), None

    def _box_views(self, tile, q_per_kv, gmem_K, gmem_V):
        """(kv head, K and V TMA coordinate views of that head) of a tile: (64, 8, halves, groups) with group = page *
        page_groups + slot / 8 (``kv_grouped``), else (page_size, d, num_pages)."""
        kv_head = tile.q_head // q_per_kv
        if cutlass.const_expr(self.kv_grouped):
            return kv_head, gmem_K[None, None, None, None, kv_head], gmem_V[None, None, None, None, kv_head]
        return kv_head, gmem_K[None, None, kv_head, None], gmem_V[None, None, kv_head, None]

    @cute.jit
    def _chunk_ids(
        self, mKvIdx, first_page: Int32, last_box: Int32, page_div, page_groups: Int32, n_hi: Int32,
        lane_pos: Int32, lane_box: Int32, pos0: Int32,
    ):
        """This lane's TMA group coordinate, box ``lane_box`` of the block at position ``pos0 +
        lane_pos`` (positions past the tile's blocks clamp to block 0, boxes past the request's end to its last box,
        as ``_box_ids``)."""
        n = cutlass.max(n_hi - 1 - pos0 - lane_pos, 0)
        first_row = cutlass.min(n * self.tile_n + lane_box * self.box_rows, last_box)
        page = mKvIdx[first_page + first_row // page_div]
        return interleaved_group(page, first_row % page_div, page_groups)

    @cute.jit
    def _load_v_chunked(self, pipe, atom, gX, sX, ids, n_block: Int32, full_blocks: Int32, req, tail, state):
        """``produce_boxes_chunked``'s V block: whole blocks (before ``full_blocks``) as K; the request's last block through
        ``_load_v_boxes`` with the lane-per-box ids of ``_box_ids``."""
        if n_block < full_blocks:
            self._load_boxes(pipe, atom, gX, sX, ids, None, tail[8], state, TRACE_V_COLS)
        else:
            page, slot = self._box_ids(*req, n_block, tail[7])
            self._load_v_boxes(pipe, atom, gX, sX, page, slot, n_block, tail, state)

    @cute.jit
    def _box_ids(
        self, mKvIdx, mKvIndptr, batch: Int32, kv_len: Int32, page_div, page_groups, n_block: Int32, lane: Int32
    ):
        """Page id and first slot of box ``lane`` of key block ``n_block``; boxes past the request's end are
        clamped to its last box (valid memory: K rows there are masked, V rows gathered, ``_load_v_boxes``).
        ``kv_grouped``: (the box's first 8-row group in the TMA group mode, 0)."""
        last_box = (kv_len - 1) // self.box_rows * self.box_rows
        first_row = cutlass.min(n_block * self.tile_n + lane * self.box_rows, last_box)
        page, slot = box_page_slot(mKvIdx, mKvIndptr, batch, first_row, page_div)
        if cutlass.const_expr(self.kv_grouped):
            return interleaved_group(page, slot, page_groups), Int32(0)
        return page, slot

    def _box_page(self, page, b: int):
        """Box ``b``'s page id (group coordinate): shuffled from its lane, or (``produce_boxes_chunked``) this warp's
        ids as a tuple, box ``b`` at ``b // box_warps``."""
        if isinstance(page, tuple):
            return page[b // self.box_warps]
        return cute.arch.shuffle_sync(page, b)

    def _box_slot(self, slot: Int32, b: int):
        """Box ``b``'s first slot, from its lane (``kv_grouped``: none, the row mode's coordinate has it)."""
        if cutlass.const_expr(self.kv_grouped):
            return slot
        return cute.arch.shuffle_sync(slot, b)

    @cute.jit
    def _copy_box(self, atom, gX, sX, page: Int32, slot: Int32, box: int, pipe, state):
        """TMA of one box: rows ``[slot, slot + box_rows)`` of ``page`` -> rows of box ``box`` of the stage
        (``kv_grouped``: ``page`` is the box's first 8-row group in the TMA group mode, ``slot`` unused; the
        box's stage rows are viewed in the TMA box's order, (64 columns, 8 rows, halves, groups))."""
        if cutlass.const_expr(self.kv_grouped):
            g_box = cute.local_tile(cute.domain_offset((0, 0, 0, page), gX), self._ibox_shape(), (0, 0, 0, 0))
            s_box = cute.local_tile(sX[None, None, state.index], (self.box_rows, self.head_dim), (box, 0))
            t_s, t_g = cpasync.tma_partition(
                atom, 0, cute.make_layout(1), cute.group_modes(cute.composition(s_box, self._ibox_order()), 0, 4),
                cute.group_modes(g_box, 0, 4),
            )
        else:
            g_box = cute.local_tile(
                cute.domain_offset((slot, 0), gX[None, None, page]), (self.box_rows, self.head_dim), (0, 0)
            )
            s_box = cute.local_tile(sX[None, None, state.index], (self.box_rows, self.head_dim), (box, 0))
            t_s, t_g = cpasync.tma_partition(
                atom, 0, cute.make_layout(1), cute.group_modes(s_box, 0, 2), cute.group_modes(g_box, 0, 2)
            )
        cute.copy(atom, t_g, t_s, tma_bar_ptr=pipe.producer_get_barrier(state))

    @cute.jit
    def _load_boxes(
        self, pipe, atom, gX, sX, page: Int32, slot: Int32, warp: Int32, state: pipeline.PipelineState,
        cols: cutlass.Constexpr = None,
    ):
        """A whole block by TMA (rows past the request's end come from its last box: K only, masked); with
        ``box_warps`` > 1 this warp's share: the boxes ``b % box_warps == warp``, announced by its own arrival.
        ``cols``: the ``TRACE`` build's stamps (thread 0, i.e. warp 0's view of the block)."""
        self._stamp_p(state, cols, 0)
        if cutlass.const_expr(self.box_warps == 1):
            pipe.producer_acquire(state)
            self._stamp_p(state, cols, 1)
            self._stamp_p(state, cols, 2)
            for b in cutlass.range_constexpr(self.boxes):
                self._copy_box(atom, gX, sX, self._box_page(page, b), self._box_slot(slot, b), b, pipe, state)
        else:
            wait_empty(pipe, state)
            self._stamp_p(state, cols, 1)
            # this warp's own ids (``produce_boxes_chunked``): its boxes issued without per-box tests
            direct = isinstance(page, tuple)
            even = self.boxes % self.box_warps == 0
            mine = self.boxes // self.box_warps if direct and even else (self.boxes - warp + self.box_warps - 1) // self.box_warps
            with cute.arch.elect_one():
                cute.arch.mbarrier_arrive_and_expect_tx(pipe.producer_get_barrier(state), mine * self.tx_bytes_box)
            self._stamp_p(state, cols, 2)
            if cutlass.const_expr(direct):
                # this warp's boxes warp + j * box_warps at their runtime stage rows, no per-box tests
                m = self.warp_boxes
                for j in cutlass.range_constexpr(m):
                    if cutlass.const_expr(even or j < m - 1):
                        self._copy_box(atom, gX, sX, page[j], None, warp + j * self.box_warps, pipe, state)
                    elif warp + j * self.box_warps < self.boxes:  # (uneven: the first warps' extra box)
                        self._copy_box(atom, gX, sX, page[j], None, warp + j * self.box_warps, pipe, state)
            else:
                for b in cutlass.range_constexpr(self.boxes):
                    if warp == b % self.box_warps:
                        self._copy_box(atom, gX, sX, self._box_page(page, b), self._box_slot(slot, b), b, pipe, state)
        self._stamp_p(state, cols, 3)

    @cute.jit
    def _load_v_boxes(self, pipe, atom, gX, sX, page: Int32, slot: Int32, n_block: Int32, tail, state):
        """A V block: the boxes wholly before the request's end by TMA; the others (the request's last block
        only) gathered by cp.async with rows clamped to the last row, since P = 0 must meet finite V (rows past
        the end of a page may hold anything). The gather is waited for and fenced to the async proxy before the
        one arrival, which announces the TMA bytes alone."""
        mV, kv_head, batch, kv_len, mKvIdx, mKvIndptr, page_div, lane, warp = tail
        n_tma = cutlass.min((kv_len - n_block * self.tile_n) // self.box_rows, self.boxes)
        # every block but the one holding the request's end: the K code (one acquire, no per-box checks);
        # bench/NOTES-prefill-paged.md 7.2: +0.4-0.7 % at page 16/64 against per-box checks on every block
        if n_tma == self.boxes:
            self._load_boxes(pipe, atom, gX, sX, page, slot, warp, state, TRACE_V_COLS)
        elif cutlass.const_expr(self.box_warps == 1):
            self._load_v_tail(pipe, atom, gX, sX, page, slot, n_block, n_tma, tail, state)
        else:
            if warp == 0:
                self._load_v_tail(pipe, atom, gX, sX, page, slot, n_block, n_tma, tail, state)
            else:
                # the other box warps copy nothing of this block; their arrivals (after the stage is free, so
                # that they count for this phase) complete the barrier's count
                wait_empty(pipe, state)
                with cute.arch.elect_one():
                    cute.arch.mbarrier_arrive(pipe.producer_get_barrier(state))

    @cute.jit
    def _load_v_tail(self, pipe, atom, gX, sX, page: Int32, slot: Int32, n_block: Int32, n_tma: Int32, tail, state):
        """The V block holding the request's end: ``n_tma`` whole boxes by TMA, the others gathered."""
        mV, kv_head, batch, kv_len, mKvIdx, mKvIndptr, page_div, lane, warp = tail
        wait_empty(pipe, state)
        if n_tma < self.boxes:
            tiled_copy = self.gather.tiled_copy()
            thr_copy = tiled_copy.get_slice(lane)
            offsets = self.gather.make_offsets()
            head_off = Int64(kv_head) * Int64(mV.stride[2])
            for b in cutlass.range(n_tma, self.boxes, unroll=1):
                self.gather.row_offsets(
                    offsets, mKvIdx, mKvIndptr, batch, n_block * self.boxes + b, kv_len, page_div,
                    Int64(mV.stride[0]), Int64(mV.stride[1]), lane,
                )
                s_box = cute.local_tile(sX[None, None, state.index], (self.box_rows, self.head_dim), (b, 0))
                self.gather.copy_tile(mV, head_off, thr_copy.partition_D(s_box), offsets, thr_copy, tiled_copy, lane)
            fence_gathered()
        with cute.arch.elect_one():
            cute.arch.mbarrier_arrive_and_expect_tx(pipe.producer_get_barrier(state), n_tma * self.tx_bytes_box)
        for b in cutlass.range_constexpr(self.boxes):
            pg = cute.arch.shuffle_sync(page, b)
            sl = self._box_slot(slot, b)
            if b < n_tma:
                self._copy_box(atom, gX, sX, pg, sl, b, pipe, state)


def compile_prefill_paged(spec):
    """Compile one paged prefill variant for sm_90a with symbolic sizes and strides (no GPU needed)."""
    dtype = DTYPES[spec.dtype]
    d, dv = spec.head_dim, spec.head_dim_v
    op = PrefillPagedSm90(spec.dtype, d, dv, bool(spec.causal), spec.tma_box_rows, spec.tile_m)
    sym = cute.sym_int
    fake = cute.runtime.make_fake_tensor
    compact = cute.runtime.make_fake_compact_tensor

    def s64():
        return cute.sym_int64(divisibility=8)

    total_q, h_q, h_k, num_pages, page_size = sym(), sym(), sym(), sym(), sym()
    q = fake(dtype, (total_q, h_q, d), stride=(s64(), s64(), 1), assumed_align=16)
    kv_stride = (s64(), s64(), s64(), 1)
    k = fake(dtype, (num_pages, page_size, h_k, d), stride=kv_stride, assumed_align=16)
    v = fake(dtype, (num_pages, page_size, h_k, dv), stride=kv_stride, assumed_align=16)
    o = fake(dtype, (total_q, h_q, dv), stride=(s64(), s64(), 1), assumed_align=16)
    lse = fake(Float32, (h_q, total_q), stride=(cute.sym_int64(), 1), assumed_align=4)
    batch_plus_1 = sym()
    cu_q = compact(Int32, (batch_plus_1,), assumed_align=4)
    cu_k = compact(Int32, (batch_plus_1,), assumed_align=4)
    kv_indptr = compact(Int32, (batch_plus_1,), assumed_align=4)
    kv_indices = compact(Int32, (sym(),), assumed_align=4)
    work = compact(Int32, (sym(), 4), stride_order=(1, 0), assumed_align=16)
    part = compact(Float32, (sym(), dv + 1), stride_order=(1, 0), assumed_align=4)
    count = compact(Int32, (sym(),), assumed_align=4)
    stream = cute.runtime.make_fake_stream(use_tvm_ffi_env_stream=True)
    return cute.compile(
        op, q, k, v, o, lse, cu_q, cu_k, kv_indptr, kv_indices, work, part, count, Int32(1), Float32(1.0), stream,
        options=f"--enable-tvm-ffi --gpu-arch {spec.arch}",
    )
