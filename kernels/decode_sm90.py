"""Batch decode over a paged KV cache on Hopper (sm_90a): GQA packed on tensor cores, cp.async page
gathers, split-KV with an in-kernel merge.

Compile with :func:`compile_decode` (no GPU needed); the API is ``cute_attn.decode``.
"""

from __future__ import annotations

import math
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

from ..layouts.decode_work import (  # noqa: E402
    DECODE_TILES, FIRST_IDS_CAP, HEADS_LOG2_MASK, ITEM_LAG_BIT, ITEM_WIDTH, MAX_ROWS, TRACE_COLS, TRACE_EPI,
    TRACE_FIRST, TRACE_ISSUE, TRACE_ITEMS, TRACE_KV, TRACE_PACQ, TRACE_PEND, TRACE_PPRE, Item,
)
from .common.config import refuse_removed_switches  # noqa: E402
from .common.wgmma import gemm  # noqa: E402

DTYPES = {"bf16": cutlass.BFloat16, "fp16": cutlass.Float16}
WARPGROUP = 128
COPY_BITS = 128
LN2 = math.log(2.0)
CONSUMER_BARRIER = 1  # named barrier id of the consumer warpgroup (0 is __syncthreads)
# split parts whose loads the merge keeps in flight together (decode-v11: 16 lost 0.2-1.5 % on the skewed case)
# (session 19: rounds of 2 / 4 / 8 / 16 parts by the split's part count, all loads of a round first: 1 x 32k -0.1..+0.1 %
# with scalar loads (df15faf) and -0.6..+0.5 % on top of the 16-byte loads (f1cbeb1, call 4; 193 registers, 16 x 16k
# -0.1..-0.2 %): with vector loads the second round is not on the tail; not kept)
MERGE_UNROLL = 8
MERGE_ELEMS = 4  # adjacent output columns per thread in the merge (head_dim % 4 == 0)
# Debug build switch (read when this module is imported, i.e. at build time): CTA c writes globaltimer / clock
# stamps as int32 into row shape[0] - 1 - c of tmp_o (bench/decode_trace.py makes that buffer large enough;
# never set it for a build that run() uses). Columns: 0 consumer start, 1 first KV tile landed, 2 last tile's
# GEMMs done, 3 consumer end, 4 merges done, 5 SM id, 6 producer's first tile issued, 7 its last tile issued,
# 8-11 clock at 0-3, 12 end of the last merge, 13 start of that merge's epilogue, 14 / 15 that epilogue before / after
# the split's atomic (the barrier after the partial's stores / the barrier after the atomic), 16 the end of that
# merge's loop over the parts (thread 0) (globaltimer_lo, ns); per item the columns of layouts/decode_work.py TRACE_*
# (session 22).
TRACE = os.environ.get("CUTE_ATTN_DECODE_TRACE", "0") == "1"
# Decode A/B switches removed once measured (bench/NOTES-decode.md has the figures; the code is in git history):
# - ``CUTE_ATTN_DECODE_SPLIT_SYNC=fence`` (per-thread acq_rel fences around a split part's publication; the kept
#   code is decode-v11's ``release``: barrier, thread 0's acq_rel atomic, barrier, +1.0-1.3 % at 1x32k);
# - ``CUTE_ATTN_DECODE_MERGE_UNROLL`` (16 lost on the skewed case; 8 kept);
# - ``CUTE_ATTN_DECODE_SPEC_ITEM=0`` (no speculative item row; the kept row, decode-v12, won 128x1k by 0.4-0.5 %);
# - session 6 (H100, one process, 6 rounds): ``CUTE_ATTN_DECODE_MERGE_MASKED=1|2`` (rounds of clamped merge loads:
#   -0.11 / -0.06 % mean, 26 / 40 of 120 round pairs won), ``CUTE_ATTN_DECODE_SPEC_ITEM=2`` (the row's fields
#   folded into the exit test: -0.01 %, 52 / 120) and ``CUTE_ATTN_DECODE_EARLY_LOADS`` (with mode 2, the CTA's
#   first loads before the mbarrier init: +0.08 %, 90 / 120, per cell -0.3..+0.3 %);
# - session 7 (H100): ``CUTE_ATTN_DECODE_NEXT_ITEM=1`` (item it + 1's row loaded during item it) is now the kernel
#   (+0.8 % at 128 x 1k page 16, +0.0..+0.2 % elsewhere); the old item transition is gone;
# - session 11 (H100, one process, 6 rounds): ``CUTE_ATTN_DECODE_TLB_PF=1|k`` (L2 prefetch of the next tile's
#   page-opening rows, K and V or K only, to warm their address translation): slower everywhere, sorted ids as well
#   as shuffled (page 1 -1.7..-3.4 %, page 16 -0.2..-0.6 %);
# - session 11 call 3 (H100; code in git history): ``CUTE_ATTN_DECODE_Q_DB=1`` (item it + 1's Q copied into a second
#   sQ during item it: -0.1..-0.8 %, 46 GPU tests passed, outputs bit-identical) and ``CUTE_ATTN_DECODE_HEADS=8`` (work
#   items over 8 kv heads, token-major key tiles, 8x fewer page entries per byte: 45 GPU tests passed, but -1.7..-3.5 %
#   at 64 x 4k / 16 x 16k / 8 x 32k, +-0.6 % at 128 x 1k, -50 % at 1 x 32k with its 125-part merges; 791e3e3; session
#   23 made it the spec field ``item_heads`` for the plans of k whole sequences per CTA only, on the 3-stage variant);
# - session 12 call 5 (H100, one process, 4 rounds; code in git history): ``CUTE_ATTN_DECODE_EVICT_FIRST=1`` (the KV
#   copies with an L2 evict_first policy; 46 GPU tests passed, outputs bit-identical): read flush +0.1..+1.4 %, zero
#   flush -2.1..-4.7 % on the large cases and +5-7 % at 1 x 32k (it leaves the flush's dirty lines for later);
# - session 12 calls 8-10 (H100, one process, 4 rounds; code in df002b8): ``CUTE_ATTN_DECODE_TMA=1`` (KV tiles as
#   16-row TMA boxes inside a page issued by producer warp 0, an item's last tile and unaligned items gathered by
#   cp.async tracked by the stage's barrier): 46 GPU tests passed, outputs bit-identical, page 16 -0.1..-0.9 % (and
#   page 1, whose tiles all take that gather protocol, -0.0..-0.9 %);
# - session 13 call 4 (H100, one process, 6 rounds; code on branch s13-rev, 5701760): ``CUTE_ATTN_DECODE_REVERSE_ODD=1``
#   (odd kv heads' tiles but the last in descending order, out of lockstep with the even heads): 63 GPU tests passed,
#   -0.5..-1.9 % (page 16 and the one-item-per-CTA cases at page 1): the heads' lockstep reads of a page pay;
# - session 13 call 9 (H100, one process, 6 rounds; code on branch s13-el, 0c37c45): ``CUTE_ATTN_DECODE_PLAN_EVICT_LAST=1``
#   (cta_ptr, item rows and page ids read with an L2 evict_last policy): 63 GPU tests passed, -0.2..+0.5 % (1 x 32k
#   +0.1..+0.5 %): the start-up chain did not shorten.
# - session 14 calls 6-7: ``CUTE_ATTN_DECODE_STAGES=n`` (the stage count) became the spec field ``DecodeSpec.stages``:
#   3 stages are the one-item-per-CTA variant (layouts.decode_work.DECODE_ONE_ITEM_STAGES); session 14 call 12:
#   ``CUTE_ATTN_DECODE_TILE_N=48`` (4 x 48 rows) / ``32`` (6 x 32): neither beats 4 x 64 on the multi-item plans nor 3 x 64
#   on the one-item plans as a whole (t48 +2.2 % at 1 x 32k page 16, -1.6 % at 16 x 16k page 1).
# - session 22 calls 2-3 (H100, one process, 6 rounds; code in 4ebdd0a / 1cdb206): ``CUTE_ATTN_DECODE_ROW_PF=1`` (L1
#   prefetch of item it + 2's row at item it's start: -0.3..+0.1 %, the producer's lead at a transition unchanged) and
#   ``CUTE_ATTN_DECODE_EARLY_Q=1`` (the next item's Q copied before the epilogue: the transition gap 2.05 -> 1.66 us in
#   the trace, the times -0.2..+0.1 %; the Q wait was not on the path: 0.06 us past the KV wait; call 11 at hd64, where
#   the trace put 0.5-0.9 us of Q wait after the first KV tile at 128 x 1k: -0.4..+0.0 %, control -0.3..+0.2 %);
# - session 22 calls 5-6 (H100, one process, 6-8 rounds; code in ef347f2 / 6a5d97b): ``CUTE_ATTN_DECODE_NEXT_PF=1`` /
#   ``IDS_PF=1`` (L1 prefetches of the next item's first page ids and row / of tile t + 2's ids: the producer's ~2 us
#   wait at an item start unchanged; -0.1..-0.3 % / -0.4..-3.3 %) and ``CUTE_ATTN_DECODE_ROW_EARLY=1`` (item it + 1's row
#   loaded on item it - 1's last tile, before its copies: that wait gone, 2.0 -> 0.3 us, the producer 2.45 us ahead at a
#   transition instead of 0.8, and yet -0.6..-1.5 % on the multi-item plans, -3.5 % at 16 x 16k page 1, -3..-11 % at hd64).
# - session 23 call 4 (H100, one process, 8 rounds; code in a461087): ``CUTE_ATTN_DECODE_FIRST_TILES=2|3`` (the first 2 / 3
#   tiles' page ids cached across runs, so the first stages' copies go out back to back): 1 x 32k -0.5..+0.3 % (control
#   -0.2..+0.2 %), 16 x 16k / 8 x 32k -0.1..+0.2 %: the start's stages are not bound by their page-id loads.
# - session 26 call 1 (H100, one process, 8 rounds; code in 67f9d9e): ``CUTE_ATTN_DECODE_HALF_PARTIALS=1`` (split partials
#   stored in the 16-bit dtype, the merge's pull halved): 1 x 32k +0.0 / -0.2 % (control +0.2 / +0.5 %), skewed -0.2 %,
#   others 0 +- 0.1 %; the decode GPU tests passed with it: the merge's loop is not bound by the partials' bytes.
# - session 27 calls 1-2 (H100, one process, 10 rounds; code in 8cb7712): ``CUTE_ATTN_DECODE_POOL=1`` with the planner knob
#   ``POOL_TILES`` (a tail pool: the last k x P key tiles of a P-part split as 1-tile micro-parts that the split's CTAs
#   claim by an atomic counter after their main part, each with its own partial slot; deterministic): correct (pooled
#   plans against the reference, reruns bit-identical, the decode GPU tests passed with pooled plans), but 1 x 32k -0.7 /
#   -1.7 us (k = 1) and -0.7 / -2.3 us (k = 2) against the pool build's own default plan (pages 16 / 1), which itself lost
#   0.75 / 0.96 us to main: the micro-parts' claims, serial chains and longer merges cost more than the balancing saves.
# - session 28 call 8 (H100, one process, 10 rounds; code on branch s28-steal, b8debbc): ``CUTE_ATTN_DECODE_STEAL=1`` with
#   the planner knob ``STEAL_TILES`` (the same pool, each claimed tile folded into the claimer's own softmax state: no
#   extra partial, one tile loop; not bit-identical from run to run): correct (within 1.2e-4 of main, counters zero), but
#   1 x 32k -1.5 / 0.0 % (pages 1 / 16) against its own control, which lost 0.2-0.7 % to main: each pool tile waits on a
#   claim -> page-id -> copy chain with one claim in flight.
# A build that sets one of them fails here rather than build the default kernel under an A/B label.
_REMOVED = ("SPLIT_SYNC", "MERGE_UNROLL", "SPEC_ITEM", "MERGE_MASKED", "EARLY_LOADS", "NEXT_ITEM", "TLB_PF", "Q_DB", "HEADS",
            "EVICT_FIRST", "TMA", "REVERSE_ODD", "PLAN_EVICT_LAST", "STAGES", "TILE_N", "ROW_PF", "EARLY_Q", "NEXT_PF",
            "IDS_PF", "ROW_EARLY", "FIRST_TILES", "DYN_HEADS", "HALF_PARTIALS", "POOL", "STEAL")
refuse_removed_switches([f"CUTE_ATTN_DECODE_{n}" for n in _REMOVED], "kernels/decode_sm90.py, bench/NOTES-decode.md")
# Host-call build switch (NOT measured on a GPU; default off = main's signature): with ``1`` the exported function
# takes the six buffers the plan owns (page ids, items, cta_ptr, tmp_o, tmp_lse, counters) as raw addresses (TVM-FFI
# DataPointer: a Python int) plus item capacity and tmp rows as Int32, and makes them into the same tensors inside
# the jit function (same layouts, same dynamic extents): the launch converts 5 torch tensors through DLPack instead
# of 11 (on the CPU box ~0.12 us per tensor in the FFI alone, before the signature checks). The kernel body and its
# parameters are unchanged (PTX compared). run() must agree: cute_attn/decode.py reads the same variable.
PTR_ARGS = os.environ.get("CUTE_ATTN_DECODE_PTR_ARGS", "0") == "1"
# The first tile's page ids of each CTA's first item, cached by a plan's first run() for the later ones (session 22).
# The producer's first copies wait for three dependent loads (cta_ptr and the speculative item row; the row of the CTA's
# first item; that tile's page ids), ~1.3-1.6 us before the first copy (session 13 / 19 traces). With it, the last grid x
# tile_n words of the counters buffer hold per CTA the tile's ids plus one (0: none; cute_attn/decode.py sizes the
# buffer and zeroes them at every plan()); every thread loads its CTA's word of its producer row before the barrier that
# follows the pipeline's set-up (before cta_ptr: ptxas sinks a later-issued one below the CTA's exit test), and the
# producer's first item takes the id from there when it is set, else loads it as before and stores it for the next
# launch. Session 22 call 7 (one process): hd128 1 x 32k +0.2..+0.6 % (the 3-stage variant), every other hd128 cell
# -0.1..+0.2 %; hd64 -0.7..+0.2 % (no control label in that run): on for hd128 only. ``CUTE_ATTN_DECODE_FIRST_IDS``
# (read at build time): ``1`` every head dim, ``0`` none (the kernel before it: PTX identical), unset the head dims here.
_FIRST_IDS_ENV = os.environ.get("CUTE_ATTN_DECODE_FIRST_IDS", "")
FIRST_IDS_HEAD_DIMS = {"1": (64, 128, 256), "0": ()}.get(_FIRST_IDS_ENV, (128,))


class DecodeSm90:
    """Paged-KV decode, one CTA per SM looping over its list of work items (``layouts/decode_work.py``).

    ============  ==========  ====================================================================
    role          threads     work
    ============  ==========  ====================================================================
    consumer      wg 0 (128)  per item: Q (g heads, or item_heads x g) -> sQ; per KV tile: S = Q K^T (wgmma
                              SS, 64 x tile_n), online softmax in the log2 domain (the tail masked on
                              an item's last tile only), P -> bf16 registers, O += P V (wgmma RS,
                              left in flight: it retires under the next tile's wait and S GEMM);
                              epilogue: final O/LSE, or a partial + counter, and the last part of a
                              split merges all parts (one online pass, MERGE_UNROLL parts in flight)
    producer      wg 1 (128)  per KV tile, ``passes`` (8) passes: a row is copied by threads_per_row
                              adjacent lanes (d / 8, at most 32: whole 128-byte lines, one or two
                              pages per warp instruction), 16-byte cp.async.cg per lane; the page id
                              of each of a warp's rows is prefetched a tile ahead by one lane (one
                              coalesced load per warp) and handed to the copying lanes by shfl
    ============  ==========  ====================================================================

    Pipeline ``kv`` (PipelineCpAsync, ``stages`` deep, one stage = K and V tiles of tile_n rows):
    full: 128 producer arrivals (cp.async.mbarrier.arrive.noinc, fires when the thread's copies
    land); empty: 128 consumer arrivals once both GEMMs that read the tile completed (the release of
    tile t follows the S GEMM of tile t+1). The pipeline state runs on across work items, so the
    producer streams the next item's KV during an epilogue. Item transitions wait on no row load: each
    role loads item it + 1's row at the start of item it; the producer's last-tile page-id prefetch
    fetches item it + 1's first page ids, and the consumer prefetches item it + 1's Q rows into L2
    during its last tile (session 7: +0.8 % at 128 x 1k page 16, +0.0..+0.2 % elsewhere on the H100;
    bench/NOTES-decode.md).

    Rows past the end of an item are clamped to its last row (valid memory) and masked in S, so no
    zero-fill is needed. Row ``i >= rows`` of the 64-row tile holds stale data; rows are independent
    in both GEMMs and in the softmax, and such rows are never stored.
    ``item_heads`` H > 1 (layouts/decode_work.py ITEM_HEADS): an item covers kv heads KV_HEAD .. KV_HEAD + H - 1 of one
    request; a key tile is tile_n / H tokens x H heads, token-major (tile row c: token c // H, head c % H), and query
    row r (kv head r // group) sees the columns of its head only (a per-item bias of -inf elsewhere, added in the
    softmax's scaling FFMA); each of the H heads has its first token in every tile, so every row's max stays finite.
    Registers: no setmaxnreg; 256 threads leave 255 per thread (hd256: O is 128 fp32 per thread).
    """

    def __init__(self, dtype: str, head_dim: int, stages: int = 0, item_heads: int = 1, dyn_heads: bool = False):
        self.dtype = DTYPES[dtype]
        self.head_dim = head_dim
        self.tile_n, self.stages = DECODE_TILES[head_dim]
        self.first_ids = head_dim in FIRST_IDS_HEAD_DIMS  # the first tile's page ids cached across runs
        assert self.tile_n <= FIRST_IDS_CAP, "the plan's counters buffer keeps FIRST_IDS_CAP words per CTA"
        if stages:  # the spec's (the one-item-per-CTA variant: layouts.decode_work.DECODE_ONE_ITEM_STAGES)
            self.stages = stages
        self.elems_per_copy = COPY_BITS // self.dtype.width
        chunks = head_dim // self.elems_per_copy
        # producer: a KV row is copied by threads_per_row adjacent lanes (whole 128-byte lines per
        # instruction); the warpgroup covers pass_rows rows per pass, tile_n // pass_rows passes per tile
        self.threads_per_row = min(chunks, 32)
        assert chunks == self.threads_per_row, "one pass of 16-byte copies must cover a whole row"
        self.pass_rows = WARPGROUP // self.threads_per_row
        self.warp_rows = 32 // self.threads_per_row
        self.passes = self.tile_n // self.pass_rows
        # the lanes of a warp that prefetch the page ids of the warp's rows, one row each
        self.id_lanes = self.passes * self.warp_rows
        assert self.tile_n % self.pass_rows == 0 and self.id_lanes <= 32
        self.q_threads_per_row = min(chunks, 32)
        # kv heads per work item (layouts.decode_work.ITEM_HEADS): a key tile holds tile_tokens tokens x heads rows,
        # token-major (a token's heads are heads x d contiguous elements of an NHD cache); the item's query rows are the
        # heads x group query heads of those kv heads, and S = Q K^T runs over the whole tile with the other heads'
        # columns masked per query row (P = 0 there): the tensor-core work per KV byte is the same (64-row M tile)
        self.heads = item_heads
        assert self.tile_n % self.heads == 0
        self.tile_tokens = self.tile_n // self.heads
        # dyn_heads (the spec's; session 23's CUTE_ATTN_DECODE_DYN_HEADS switch): each item's kv heads H from its row
        # (``Item.HEADS_LOG2``, written by both planners), the item_heads arithmetic by shifts and masks: one kernel for
        # items of 1, 2, 4 or 8 heads, which a CUDA graph's one captured launch needs (cute_attn.decode
        # GRAPH_ITEM_HEADS); an item whose row has bit ITEM_LAG_BIT set is streamed with stages - 1 tiles in flight (the
        # producer also waits for the release of tile t - stages + 1 before tile t: GRAPH_ONE_ITEM_LAG, session 25)
        assert not dyn_heads or item_heads == 1
        self.dyn = dyn_heads
        self.log2_tile_n = self.tile_n.bit_length() - 1
        assert 1 << self.log2_tile_n == self.tile_n

    def _smem_layout(self, rows: int, stages: int | None):
        atom = warpgroup.make_smem_layout_atom(
            sm90_utils.get_smem_layout_atom(LayoutEnum.ROW_MAJOR, self.dtype, self.head_dim), self.dtype
        )
        shape = (rows, self.head_dim) if stages is None else (rows, self.head_dim, stages)
        return cute.tile_to_shape(atom, shape, order=(0, 1) if stages is None else (0, 1, 2))

    @cute.jit
    def __call__(
        self,
        mQ: cute.Tensor,  # (batch, num_qo_heads, d)
        mK: cute.Tensor,  # (num_pages, page_size, num_kv_heads, d), any strides, last dim contiguous
        mV: cute.Tensor,
        mKvIdx: cute.Tensor,  # (nnz_pages,) int32
        mItems: cute.Tensor,  # (num_items, ITEM_WIDTH) int32
        mCtaPtr: cute.Tensor,  # (num_ctas + 1,) int32: items of CTA c are [ptr[c], ptr[c+1])
        mO: cute.Tensor,  # (batch, num_qo_heads, d)
        mLse: cute.Tensor,  # (batch, num_qo_heads) float32, natural log
        mTmpO: cute.Tensor,  # (tmp_rows, d) float32: partial outputs of split items
        mTmpLse: cute.Tensor,  # (tmp_rows,) float32, log2 domain
        mCounter: cute.Tensor,  # (num_splits,) int32, zero between launches
        num_ctas: Int32,
        scale_log2: Float32,
        stream: cuda.CUstream,
    ):
        sQ_layout = self._smem_layout(MAX_ROWS, None)
        sKV_layout = self._smem_layout(self.tile_n, self.stages)

        @cute.struct
        class SharedStorage:
            mbar: cute.struct.MemRange[Int64, 2 * self.stages]
            flag: cute.struct.MemRange[Int32, 4]
            sQ: cute.struct.Align[cute.struct.MemRange[self.dtype, cute.cosize(sQ_layout)], 1024]
            sK: cute.struct.Align[cute.struct.MemRange[self.dtype, cute.cosize(sKV_layout)], 1024]
            sV: cute.struct.Align[cute.struct.MemRange[self.dtype, cute.cosize(sKV_layout)], 1024]

        self.shared_storage = SharedStorage
        self.kernel(
            mQ, mK, mV, mKvIdx, mItems, mCtaPtr, mO, mLse, mTmpO, mTmpLse, mCounter, scale_log2,
            sQ_layout, sKV_layout,
        ).launch(grid=[num_ctas, 1, 1], block=[2 * WARPGROUP, 1, 1], stream=stream, min_blocks_per_mp=1)

    @cute.jit
    def call_ptrs(
        self,
        mQ: cute.Tensor,
        mK: cute.Tensor,
        mV: cute.Tensor,
        pKvIdx: cute.Pointer,  # int32, 4-byte aligned
        pItems: cute.Pointer,  # int32, 16-byte aligned, item_cap rows of ITEM_WIDTH
        pCtaPtr: cute.Pointer,  # int32
        mO: cute.Tensor,
        mLse: cute.Tensor,
        pTmpO: cute.Pointer,  # float32, 16-byte aligned, tmp_rows rows of head_dim
        pTmpLse: cute.Pointer,  # float32
        pCounter: cute.Pointer,  # int32
        item_cap: Int32,
        tmp_rows: Int32,
        num_ctas: Int32,
        scale_log2: Float32,
        stream: cuda.CUstream,
    ):
        """``PTR_ARGS``: the plan's buffers as addresses, made into __call__'s tensors (the extents the kernel
        never reads, those of the 1-D buffers, are given item_cap: any value does)."""
        d = self.head_dim
        mKvIdx = cute.make_tensor(pKvIdx, cute.make_layout((item_cap,), stride=(1,)))
        mItems = cute.make_tensor(pItems, cute.make_layout((item_cap, ITEM_WIDTH), stride=(ITEM_WIDTH, 1)))
        mCtaPtr = cute.make_tensor(pCtaPtr, cute.make_layout((item_cap,), stride=(1,)))
        mTmpO = cute.make_tensor(pTmpO, cute.make_layout((tmp_rows, d), stride=(d, 1)))
        mTmpLse = cute.make_tensor(pTmpLse, cute.make_layout((tmp_rows,), stride=(1,)))
        mCounter = cute.make_tensor(pCounter, cute.make_layout((item_cap,), stride=(1,)))
        self.__call__(mQ, mK, mV, mKvIdx, mItems, mCtaPtr, mO, mLse, mTmpO, mTmpLse, mCounter, num_ctas, scale_log2,
                      stream)

    @cute.kernel
    def kernel(
        self,
        mQ: cute.Tensor,
        mK: cute.Tensor,
        mV: cute.Tensor,
        mKvIdx: cute.Tensor,
        mItems: cute.Tensor,
        mCtaPtr: cute.Tensor,
        mO: cute.Tensor,
        mLse: cute.Tensor,
        mTmpO: cute.Tensor,
        mTmpLse: cute.Tensor,
        mCounter: cute.Tensor,
        scale_log2: Float32,
        sQ_layout: cute.ComposedLayout,
        sKV_layout: cute.ComposedLayout,
    ):
        tidx, _, _ = cute.arch.thread_idx()
        bidx, _, _ = cute.arch.block_idx()
        warp_idx = cute.arch.make_warp_uniform(cute.arch.warp_idx())
        f_id = Int32(0)
        f_at = Int32(0)
        if cutlass.const_expr(self.first_ids):
            # this CTA's cached first-tile page id of the producer row that thread tidx % 128 loads, plus one (0: none
            # cached; never negative), issued before the barrier that follows the pipeline's set-up (ptxas does not
            # move a global load across it), i.e. before the loads of cta_ptr and the item rows
            id_row = self._id_row(tidx % WARPGROUP)
            grid = Int32(cute.arch.grid_dim()[0])
            f_at = mCounter.shape[0] - grid * self.tile_n + bidx * self.tile_n + id_row
            f_id = mCounter[f_at]

        smem = cutlass.utils.SmemAllocator()
        storage = smem.allocate(self.shared_storage)
        kv_pipe = pipeline.PipelineCpAsync.create(
            barrier_storage=storage.mbar.data_ptr(),
            num_stages=self.stages,
            producer_group=pipeline.CooperativeGroup(pipeline.Agent.Thread, WARPGROUP),
            consumer_group=pipeline.CooperativeGroup(pipeline.Agent.Thread, WARPGROUP),
        )
        sQ = storage.sQ.get_tensor(sQ_layout.outer, swizzle=sQ_layout.inner)
        sK = storage.sK.get_tensor(sKV_layout.outer, swizzle=sKV_layout.inner)
        sV = storage.sV.get_tensor(sKV_layout.outer, swizzle=sKV_layout.inner)
        sFlag = storage.flag.get_tensor(cute.make_layout(4))

        item_begin, item_end, spec = self._cta_items(mCtaPtr, mItems, bidx)
        trace = mTmpO
        if cutlass.const_expr(TRACE):
            t_off = cute.crd2idx((mTmpO.shape[0] - 1 - bidx, 0), mTmpO.layout)
            t_ptr = cute.make_ptr(Int32, (mTmpO.iterator + t_off).toint(), cute.AddressSpace.gmem, assumed_align=16)
            trace = cute.make_tensor(t_ptr, cute.make_layout(TRACE_COLS))
        if warp_idx >= 4:
            self.produce(kv_pipe, sK, sV, mK, mV, mKvIdx, mItems, mCounter, item_begin, item_end, spec, f_id, f_at,
                         tidx - WARPGROUP, trace)
        else:
            group = Int32(1)  # item heads: query heads per kv head
            if cutlass.const_expr(self.heads > 1 or self.dyn):
                group = mQ.shape[1] // mK.shape[2]
            self.consume(
                kv_pipe, sQ, sK, sV, sFlag, mQ, mItems, mO, mLse, mTmpO, mTmpLse, mCounter,
                item_begin, item_end, spec, tidx, scale_log2, trace, group,
            )

    # ------------------------------------------------------------------------------------ item rows

    @cute.jit
    def _cta_items(self, mCtaPtr: cute.Tensor, mItems: cute.Tensor, bidx):
        """CTA ``bidx``'s item range ``[item_begin, item_end)`` and the speculative row ``spec``."""
        item_begin = mCtaPtr[bidx]
        item_end = mCtaPtr[bidx + 1]
        # both roles load item row ``bidx`` beside cta_ptr (before the item loop's first compare waits for it) and
        # use it when ``it == bidx`` (the CTA's first item when every CTA has one: 1x32k, 8x32k, 16x16k); any
        # other item is loaded as before (in bounds: the schedule buffer has >= grid rows). decode-v12: 128x1k
        # +0.4-0.5 %, elsewhere within +-0.3 %; the intended effect (the 1x32k start-up one dependent load
        # shorter) did not show in the trace: ptxas issues the row's loads after the exit test, i.e. after
        # cta_ptr lands.
        spec = cutlass.min(Int32(bidx), mItems.shape[0] - 1)
        return item_begin, item_end, spec

    @cute.jit
    def _spec_fields(self, mItems: cute.Tensor, spec: Int32, fields: cutlass.Constexpr):
        """The given fields of the speculatively loaded row ``spec``."""
        return tuple(mItems[spec, f] for f in fields)

    @cute.jit
    def _item_fields(self, mItems: cute.Tensor, it: Int32, spec: Int32, spec_vals, fields: cutlass.Constexpr):
        """The given fields of item ``it``: ``spec_vals`` (from :meth:`_spec_fields`) when ``it == spec``, else
        loaded from its row (in the order of ``fields``)."""
        vals = spec_vals
        if it != spec:
            vals = tuple(mItems[it, f] for f in fields)
        return vals

    # ------------------------------------------------------------------------------------ producer

    @cute.jit
    def produce(
        self,
        kv_pipe: pipeline.PipelineAsync,
        sK: cute.Tensor,
        sV: cute.Tensor,
        mK: cute.Tensor,
        mV: cute.Tensor,
        mKvIdx: cute.Tensor,
        mItems: cute.Tensor,
        mCounter: cute.Tensor,
        item_begin: Int32,
        item_end: Int32,
        spec: Int32,
        f_id: Int32,
        f_at: Int32,
        ptid: Int32,
        trace: cute.Tensor,
    ):
        """KV tiles of the CTA's items into the ``kv`` stages. Item ``it + 1``'s row is loaded at the start of item
        ``it``, and the last tile's page-id prefetch loads the first page ids of item ``it + 1`` (when it exists and
        has rows), so its first copies are issued right after the last tile's: an item transition waits on no row
        or page-id load."""
        page_div = cute.FastDivmodDivisorV2(mK.shape[1])
        atom = cute.make_copy_atom(
            cpasync.CopyG2SOp(cache_mode=cpasync.LoadCacheMode.GLOBAL), self.dtype, num_bits_per_copy=COPY_BITS
        )
        thr_layout = cute.make_ordered_layout((self.pass_rows, self.threads_per_row), order=(1, 0))
        tiled_copy = cute.make_tiled_copy_tv(atom, thr_layout, cute.make_layout((1, self.elems_per_copy)))
        thr_copy = tiled_copy.get_slice(ptid)
        tKsK = thr_copy.partition_D(sK)  # (CPY, passes, 1, stages): pass m is tile row m * pass_rows + ptid // tpr
        tVsV = thr_copy.partition_D(sV)
        lane = ptid % 32
        id_row = self._id_row(ptid)
        src_lane = lane // self.threads_per_row
        last_row = mItems.shape[0] - 1
        # item heads: the token of the prefetched row (rows are token-major over the item's heads)
        id_tok = id_row if self.heads == 1 else id_row // self.heads
        last_head = mK.shape[2] - 1
        if cutlass.const_expr(self.first_ids):
            # (+ 0: f_id is never negative) the loop's end waits for f_id: ptxas keeps its load where it was issued,
            # instead of sinking it below the exit test, which waits for cta_ptr
            item_end = item_end + (f_id >> 31)

        state = pipeline.make_pipeline_state(pipeline.PipelineUserType.Producer, self.stages)
        fields = (Item.KV_HEAD, Item.KV_START, Item.KV_END, Item.PAGE_BASE, Item.HEADS_LOG2)
        if cutlass.const_expr(not self.dyn):
            fields = fields[:4]
        s_row = self._spec_fields(mItems, spec, fields)  # issued before anything waits for cta_ptr
        # the row of the item about to start, and (ready) whether page / slot already hold its first tile's ids
        # (not so for the first item and after an item without tiles: then they are loaded at the item's start)
        n_row = self._item_fields(mItems, cutlass.min(item_begin, last_row), spec, s_row, fields)
        ready = Int32(0)
        page = Int32(0)
        slot = Int32(0)
        tile_tokens = self.tile_tokens
        hmask = self.heads - 1
        if cutlass.const_expr(self.dyn):  # (loop-carried: Int32 from the start)
            tile_tokens = Int32(self.tile_tokens)
            hmask = Int32(0)
        for it in cutlass.range(item_begin, item_end, unroll=1):
            kv_head, kv_start, kv_end, page_base = n_row[:4]
            hl2 = n_row[4] & HEADS_LOG2_MASK if self.dyn else 0
            lag = n_row[4] >> ITEM_LAG_BIT if self.dyn else 0  # one stage fewer in flight (ITEM_LAG_BIT)
            nxt = cutlass.min(it + 1, last_row)  # its row lands during this item
            n_row = tuple(mItems[nxt, f] for f in fields)
            n_start, n_end, n_base = n_row[1], n_row[2], n_row[3]
            has_next = (it + 1 < item_end) & (n_end > n_start)
            n_id_tok = id_tok
            if cutlass.const_expr(self.dyn):  # this item's heads (and the next one's, for its first ids)
                tile_tokens = Int32(self.tile_n) >> hl2
                hmask = (Int32(1) << hl2) - 1
                id_tok = id_row >> hl2
                n_id_tok = id_row >> (n_row[4] & HEADS_LOG2_MASK)
            n_tiles = self._tiles(kv_end - kv_start, hl2)
            if (n_tiles > 0) & (ready == 0):
                r0 = cutlass.min(kv_start + id_tok, kv_end - 1)
                if cutlass.const_expr(self.first_ids):
                    if (it == item_begin) & (f_id > 0):  # the CTA's first item, its ids cached by an earlier run
                        page = f_id - 1
                        _, slot = divmod(r0, page_div)
                    else:
                        page, slot = self._row_page(mKvIdx, page_div, page_base, r0)
                        if it == item_begin:  # for the plan's later runs (a negative id, not a page: 0)
                            mCounter[f_at] = cutlass.max(page + 1, 0)
                else:
                    page, slot = self._row_page(mKvIdx, page_div, page_base, r0)
            ready = Int32(0)
            for t in cutlass.range(n_tiles, unroll=1):
                # the next tile's page ids are loaded before this tile's copies are issued; on the last tile, the
                # next item's first tile's (when there is one with rows)
                r_next = cutlass.min(kv_start + (t + 1) * tile_tokens + id_tok, kv_end - 1)
                base_next = page_base
                if (t == n_tiles - 1) & has_next:
                    r_next = cutlass.min(n_start + n_id_tok, n_end - 1)
                    base_next = n_base
                    ready = Int32(1)
                page_next, slot_next = self._row_page(mKvIdx, page_div, base_next, r_next)
                if cutlass.const_expr(TRACE and self.head_dim >= 128):
                    if (ptid == 0) & (t == 0) & (it - item_begin < TRACE_ITEMS):
                        trace[TRACE_PPRE + it - item_begin] = cute.arch.globaltimer_lo()
                kv_pipe.producer_acquire(state)
                if cutlass.const_expr(self.dyn):
                    if lag != 0:  # also the next stage's release (tile t - stages + 1): stages - 1 tiles in flight
                        ahead = state.clone()
                        ahead.advance()
                        kv_pipe.producer_acquire(ahead)
                if cutlass.const_expr(TRACE and self.head_dim >= 128):
                    if (ptid == 0) & (t == 0) & (it - item_begin < TRACE_ITEMS):
                        trace[TRACE_PACQ + it - item_begin] = cute.arch.globaltimer_lo()
                for m in cutlass.range_constexpr(self.passes):
                    row_page = cute.arch.shuffle_sync(page, m * self.warp_rows + src_lane)
                    row_slot = cute.arch.shuffle_sync(slot, m * self.warp_rows + src_lane)
                    row_head = kv_head
                    if cutlass.const_expr(self.heads > 1 or self.dyn):
                        # the thread's row of pass m is tile row m * pass_rows + ptid // threads_per_row, its head that
                        # row modulo H (clamped: a last head block may hold fewer heads, whose rows no query row reads)
                        row_head = cutlass.min(
                            kv_head + self._col_head(m * self.pass_rows + ptid // self.threads_per_row, hmask),
                            last_head,
                        )
                    self._copy_row(mK, tKsK[None, m, None, state.index], thr_copy, tiled_copy, row_page, row_slot, row_head)
                    self._copy_row(mV, tVsV[None, m, None, state.index], thr_copy, tiled_copy, row_page, row_slot, row_head)
                kv_pipe.producer_commit(state)
                state.advance()
                page = page_next
                slot = slot_next
                if cutlass.const_expr(TRACE):
                    if ptid == 0:
                        if (t == 0) & (it - item_begin < TRACE_ITEMS):
                            trace[TRACE_ISSUE + it - item_begin] = cute.arch.globaltimer_lo()
                        if cutlass.const_expr(self.head_dim >= 128):
                            if (t == n_tiles - 1) & (it - item_begin < TRACE_ITEMS):
                                trace[TRACE_PEND + it - item_begin] = cute.arch.globaltimer_lo()
                        if it == item_begin and t == 0:
                            trace[6] = cute.arch.globaltimer_lo()
                        if it == item_end - 1 and t == n_tiles - 1:
                            trace[7] = cute.arch.globaltimer_lo()

    def _tiles(self, rows, hl2):
        """Key tiles of an item of ``rows`` KV rows (tokens): tile_n / H tokens each (H = item heads; dyn_heads: H =
        2^hl2 from the item row, by shifts)."""
        if cutlass.const_expr(self.dyn):
            return (rows + (Int32(self.tile_n) >> hl2) - 1) >> (self.log2_tile_n - hl2)
        return (rows + self.tile_tokens - 1) // self.tile_tokens

    def _col_head(self, c, hmask):
        """The kv head (offset in the item) of tile row ``c`` (token-major: c mod H; dyn_heads: c & (H - 1))."""
        if cutlass.const_expr(self.dyn):
            return c & hmask
        return c % self.heads

    @cute.jit
    def _id_row(self, ptid: Int32):
        """The tile row whose page id producer thread ``ptid`` prefetches: lane l of warp w, row (l // warp_rows) *
        pass_rows + w * warp_rows + l % warp_rows (in pass m the thread's row sits in lane m * warp_rows + lane //
        threads_per_row)."""
        lane = ptid % 32
        warp = ptid // 32
        id_lane = lane % self.id_lanes
        return (id_lane // self.warp_rows) * self.pass_rows + warp * self.warp_rows + id_lane % self.warp_rows

    @cute.jit
    def _row_page(self, mKvIdx: cute.Tensor, page_div, page_base: Int32, r: Int32):
        page_idx, slot = divmod(r, page_div)
        return mKvIdx[page_base + page_idx], slot

    @cute.jit
    def _copy_row(
        self,
        mX: cute.Tensor,
        tXsX: cute.Tensor,
        thr_copy: cute.TiledCopy,
        tiled_copy: cute.TiledCopy,
        page: Int32,
        slot: Int32,
        kv_head: Int32,
    ):
        """One pass: the thread's 16-byte chunk of its row (page, slot, kv_head)."""
        offset = cute.crd2idx((Int64(page), Int64(slot), Int64(kv_head), 0), mX.layout)
        ptr = cute.make_ptr(self.dtype, (mX.iterator + offset).toint(), cute.AddressSpace.gmem, assumed_align=16)
        # every row of this view is the thread's own row: the thread's partition picks its columns
        gX = cute.make_tensor(ptr, cute.make_layout((self.pass_rows, self.head_dim), stride=(0, 1)))
        cute.copy(tiled_copy, thr_copy.partition_S(gX)[None, 0, None], tXsX)

    # ------------------------------------------------------------------------------------ consumer

    @cute.jit
    def consume(
        self,
        kv_pipe: pipeline.PipelineAsync,
        sQ: cute.Tensor,
        sK: cute.Tensor,
        sV: cute.Tensor,
        sFlag: cute.Tensor,
        mQ: cute.Tensor,
        mItems: cute.Tensor,
        mO: cute.Tensor,
        mLse: cute.Tensor,
        mTmpO: cute.Tensor,
        mTmpLse: cute.Tensor,
        mCounter: cute.Tensor,
        item_begin: Int32,
        item_end: Int32,
        spec: Int32,
        tidx: Int32,
        scale_log2: Float32,
        trace: cute.Tensor,
        group: Int32,
    ):
        if cutlass.const_expr(TRACE):
            if tidx == 0:
                trace[0] = cute.arch.globaltimer_lo()
                trace[8] = cute.arch.clock()
                trace[5] = cute.arch.smid()
        merges = Int32(0)
        tiled_mma_qk = sm90_utils.make_trivial_tiled_mma(
            self.dtype, self.dtype, warpgroup.OperandMajorMode.K, warpgroup.OperandMajorMode.K, Float32,
            atom_layout_mnk=(1, 1, 1), tiler_mn=(MAX_ROWS, self.tile_n),
        )
        tiled_mma_pv = sm90_utils.make_trivial_tiled_mma(
            self.dtype, self.dtype, warpgroup.OperandMajorMode.K, warpgroup.OperandMajorMode.MN, Float32,
            atom_layout_mnk=(1, 1, 1), tiler_mn=(MAX_ROWS, self.head_dim),
            a_source=warpgroup.OperandSource.RMEM,
        )
        thr_qk = tiled_mma_qk.get_slice(tidx)
        thr_pv = tiled_mma_pv.get_slice(tidx)
        tSrQ = thr_qk.make_fragment_A(thr_qk.partition_A(sQ))
        tSrK = thr_qk.make_fragment_B(thr_qk.partition_B(sK))
        sVt = cute.composition(
            sV, cute.make_ordered_layout((self.head_dim, self.tile_n, self.stages), order=(1, 0, 2))
        )
        tOrVt = thr_pv.make_fragment_B(thr_pv.partition_B(sVt))
        acc_S = cute.make_rmem_tensor(thr_qk.partition_shape_C((MAX_ROWS, self.tile_n)), Float32)
        acc_O = cute.make_rmem_tensor(thr_pv.partition_shape_C((MAX_ROWS, self.head_dim)), Float32)
        tOrP = thr_pv.make_fragment_A(thr_pv.partition_shape_A((MAX_ROWS, self.tile_n)))
        tScS = thr_qk.partition_C(cute.make_identity_tensor((MAX_ROWS, self.tile_n)))
        tOcO = thr_pv.partition_C(cute.make_identity_tensor((MAX_ROWS, self.head_dim)))
        # accumulator element k of a wgmma fragment sits in row half (k // 2) % 2 of the thread's rows
        row_max = cute.make_rmem_tensor((2,), Float32)
        row_sum = cute.make_rmem_tensor((2,), Float32)
        # item heads: per S element 0 where its column's head is its row's kv head (or the row is past ``rows``: never
        # stored, kept finite), -inf elsewhere; set per item
        bias = cute.make_rmem_tensor(cute.size(acc_S), Float32)

        q_atom = cute.make_copy_atom(cpasync.CopyG2SOp(), self.dtype, num_bits_per_copy=COPY_BITS)
        q_thr_layout = cute.make_ordered_layout(
            (WARPGROUP // self.q_threads_per_row, self.q_threads_per_row), order=(1, 0)
        )
        q_copy = cute.make_tiled_copy_tv(q_atom, q_thr_layout, cute.make_layout((1, self.elems_per_copy)))
        thr_q = q_copy.get_slice(tidx)
        tQsQ = thr_q.partition_D(sQ)
        tQcQ = thr_q.partition_S(cute.make_identity_tensor((MAX_ROWS, self.head_dim)))

        state = pipeline.make_pipeline_state(pipeline.PipelineUserType.Consumer, self.stages)
        fields = (Item.BATCH, Item.HEAD0, Item.ROWS, Item.KV_START, Item.KV_END, Item.HEADS_LOG2)
        if cutlass.const_expr(not self.dyn):
            fields = fields[:5]
        s_row = self._spec_fields(mItems, spec, fields)
        # item it + 1's row is loaded at the start of item it: at the transition its Q address is known at once
        last_row = mItems.shape[0] - 1
        n_row = self._item_fields(mItems, cutlass.min(item_begin, last_row), spec, s_row, fields)
        for it in cutlass.range(item_begin, item_end, unroll=1):
            batch, head0, rows, kv_start, kv_end = n_row[:5]
            hl2 = n_row[5] & HEADS_LOG2_MASK if self.dyn else 0
            nxt = cutlass.min(it + 1, last_row)  # the next item's row lands during this item
            n_row = tuple(mItems[nxt, f] for f in fields)
            n_batch, n_head0, n_rows = n_row[0], n_row[1], n_row[2]

            # Q rows [head0, head0 + rows) of request `batch` -> sQ rows [0, rows)
            self._copy_q(mQ, batch, head0, rows, q_copy, thr_q, tQsQ, tQcQ)
            # the Q copy is awaited after the first KV tile's wait: both latencies overlap

            acc_O.fill(0.0)
            row_max.fill(-Float32.inf)
            row_sum.fill(0.0)
            if cutlass.const_expr(self.heads > 1 or self.dyn):
                hmask = self.heads - 1
                if cutlass.const_expr(self.dyn):  # this item's heads from its row
                    hmask = (Int32(1) << hl2) - 1
                for k in cutlass.range_constexpr(cute.size(acc_S)):
                    r = tScS[k][0]
                    bias[k] = Float32(0.0)
                    if (r < rows) & (self._col_head(tScS[k][1], hmask) != r // group):
                        bias[k] = -Float32.inf
            n_tiles = self._tiles(kv_end - kv_start, hl2)
            # O += P V of tile t runs while tile t+1 is awaited and S = Q K^T of tile t+1 is issued; the
            # wait for S also retires that P V, and only then is tile t's stage released
            prev = state.clone()
            for t in cutlass.range(n_tiles, unroll=1):
                kv_pipe.consumer_wait(state)
                if t == 0:
                    if cutlass.const_expr(TRACE):
                        if (tidx == 0) & (it - item_begin < TRACE_ITEMS):
                            trace[TRACE_KV + it - item_begin] = cute.arch.globaltimer_lo()
                    cute.arch.cp_async_wait_group(0)
                    cute.arch.fence_view_async_shared()
                    cute.arch.barrier(barrier_id=CONSUMER_BARRIER, number_of_threads=WARPGROUP)
                    if cutlass.const_expr(TRACE):
                        if (tidx == 0) & (it - item_begin < TRACE_ITEMS):
                            trace[TRACE_FIRST + it - item_begin] = cute.arch.globaltimer_lo()
                        if tidx == 0 and it == item_begin:
                            trace[1] = cute.arch.globaltimer_lo()
                            trace[9] = cute.arch.clock()
                cute.arch.fence_view_async_shared()  # cp.async (generic proxy) data read by wgmma
                gemm(tiled_mma_qk, acc_S, tSrQ, tSrK[None, None, None, state.index], True, -1)
                warpgroup.wait_group(0)
                if t > 0:
                    kv_pipe.consumer_release(prev)
                n_valid = kv_end - kv_start - t * self.tile_n
                if cutlass.const_expr(self.heads > 1):
                    n_valid = (kv_end - kv_start - t * self.tile_tokens) * self.heads  # valid tile rows (token-major)
                if cutlass.const_expr(self.dyn):
                    n_valid = (kv_end - kv_start - (t << (self.log2_tile_n - hl2))) << hl2
                self._online_softmax(acc_S, acc_O, tScS, row_max, row_sum, n_valid, scale_log2, bias)
                for k in cutlass.range_constexpr(cute.size(acc_S)):
                    tOrP[k] = acc_S[k].to(self.dtype)
                gemm(tiled_mma_pv, acc_O, tOrP, tOrVt[None, None, None, state.index], False, -1)
                # the next item's Q rows into L2 while the last P V runs (their copy into sQ stays at the next
                # item's start, after this item's epilogue)
                if (t == n_tiles - 1) & (it + 1 < item_end):
                    self._prefetch_q(mQ, n_batch, n_head0, n_rows, tidx)
                prev = state.clone()
                state.advance()
            if n_tiles > 0:
                warpgroup.wait_group(0)
                kv_pipe.consumer_release(prev)
            else:
                cute.arch.cp_async_wait_group(0)  # no copy into sQ may still land under the next item's

            t_epi = Int32(0)
            if cutlass.const_expr(TRACE):
                t_epi = cute.arch.globaltimer_lo()
                if (tidx == 0) & (it - item_begin < TRACE_ITEMS):
                    trace[TRACE_EPI + it - item_begin] = t_epi
                if tidx == 0 and it == item_end - 1:
                    trace[2] = t_epi
                    trace[10] = cute.arch.clock()
            t_pre, t_post, t_loop = self._epilogue(
                it, mItems, acc_O, tOcO, row_max, row_sum, sFlag, mO, mLse, mTmpO, mTmpLse, mCounter, tidx
            )
            if cutlass.const_expr(TRACE):
                if mItems[it, Item.MERGE_ID] >= 0:
                    if sFlag[0] == 1:
                        merges += 1
                        if tidx == 0:
                            trace[12] = cute.arch.globaltimer_lo()
                            trace[13] = t_epi
                            trace[14] = t_pre
                            trace[15] = t_post
                            trace[16] = t_loop
                # sFlag is rewritten by the next split item's epilogue only after a barrier
                cute.arch.barrier(barrier_id=CONSUMER_BARRIER, number_of_threads=WARPGROUP)
        if cutlass.const_expr(TRACE):
            if tidx == 0:
                trace[3] = cute.arch.globaltimer_lo()
                trace[11] = cute.arch.clock()
                trace[4] = merges

    @cute.jit
    def _copy_q(self, mQ: cute.Tensor, batch: Int32, head0: Int32, rows: Int32, q_copy, thr_q, tQsQ, tQcQ):
        """cp.async of Q rows [head0, head0 + rows) of request ``batch`` into sQ rows [0, rows), one commit group."""
        q_off = cute.crd2idx((batch, head0, 0), mQ.layout)
        q_ptr = cute.make_ptr(self.dtype, (mQ.iterator + q_off).toint(), cute.AddressSpace.gmem, assumed_align=16)
        gQ = cute.make_tensor(q_ptr, cute.make_layout((MAX_ROWS, self.head_dim), stride=(mQ.stride[1], 1)))
        tQgQ = thr_q.partition_S(gQ)
        for m in cutlass.range_constexpr(cute.size(tQsQ, mode=[1])):
            if tQcQ[0, m, 0][0] < rows:
                cute.copy(q_copy, tQgQ[None, m, None], tQsQ[None, m, None])
        cute.arch.cp_async_commit_group()

    @cute.jit
    def _prefetch_q(self, mQ: cute.Tensor, batch: Int32, head0: Int32, rows: Int32, tidx: Int32):
        """L2 prefetch of Q rows [head0, head0 + rows) of request ``batch``, one 128-byte line per
        thread (every line of up to 128 // lines-per-row rows: all of 64 rows at hd64 / hd128, 32 at hd256)."""
        lines_per_row = (self.head_dim * self.dtype.width // 8 + 127) // 128
        r = tidx // lines_per_row
        if r < rows:
            off = cute.crd2idx((batch, head0 + r, (tidx % lines_per_row) * (128 * 8 // self.dtype.width)), mQ.layout)
            ptr = cute.make_ptr(self.dtype, (mQ.iterator + off).toint(), cute.AddressSpace.gmem, assumed_align=16)
            cute.arch.prefetch(ptr.llvm_ptr, cache_level="L2")

    @cute.jit
    def _online_softmax(
        self,
        acc_S: cute.Tensor,
        acc_O: cute.Tensor,
        tScS: cute.Tensor,
        row_max: cute.Tensor,
        row_sum: cute.Tensor,
        n_valid: Int32,
        scale_log2: Float32,
        bias: cute.Tensor,
    ):
        """S <- exp2(S * scale_log2 - m_new) with columns >= n_valid masked; rescale O and the row sums.
        Every tile has at least one valid column, so m_new is finite (item heads: ``bias`` masks the other heads'
        columns; every row has its own head's first token in every tile)."""
        for k in cutlass.range_constexpr(cute.size(acc_S)):
            if cutlass.const_expr(self.heads > 1 or self.dyn):
                acc_S[k] = acc_S[k] * scale_log2 + bias[k]
            else:
                acc_S[k] = acc_S[k] * scale_log2
        if n_valid < self.tile_n:  # only the last tile of an item has masked columns
            for k in cutlass.range_constexpr(cute.size(acc_S)):
                if tScS[k][1] >= n_valid:
                    acc_S[k] = -Float32.inf
        tile_max = cute.make_rmem_tensor((2,), Float32)
        tile_max.fill(-Float32.inf)
        for k in cutlass.range_constexpr(cute.size(acc_S)):
            h = (k // 2) % 2
            tile_max[h] = cute.arch.fmax(tile_max[h], acc_S[k])
        scale = cute.make_rmem_tensor((2,), Float32)
        for h in cutlass.range_constexpr(2):
            m_new = cute.arch.fmax(row_max[h], cute.arch.warp_reduction_max(tile_max[h], threads_in_group=4))
            scale[h] = cute.math.exp2(row_max[h] - m_new, fastmath=True)
            row_max[h] = m_new
            row_sum[h] = row_sum[h] * scale[h]
        for k in cutlass.range_constexpr(cute.size(acc_S)):
            h = (k // 2) % 2
            p = cute.math.exp2(acc_S[k] - row_max[h], fastmath=True)
            acc_S[k] = p
            row_sum[h] = row_sum[h] + p
        for k in cutlass.range_constexpr(cute.size(acc_O)):
            acc_O[k] = acc_O[k] * scale[(k // 2) % 2]

    # ------------------------------------------------------------------------------------ epilogue

    @cute.jit
    def _epilogue(
        self,
        it: Int32,
        mItems: cute.Tensor,
        acc_O: cute.Tensor,
        tOcO: cute.Tensor,
        row_max: cute.Tensor,
        row_sum: cute.Tensor,
        sFlag: cute.Tensor,
        mO: cute.Tensor,
        mLse: cute.Tensor,
        mTmpO: cute.Tensor,
        mTmpLse: cute.Tensor,
        mCounter: cute.Tensor,
        tidx: Int32,
    ):
        """Item ``it``'s output (normalized O and LSE), or its split part's partial and, for the last part to arrive,
        the merge. Returns the TRACE build's stamps (t_pre, t_post, t_loop; zeros otherwise)."""
        batch = mItems[it, Item.BATCH]
        head0 = mItems[it, Item.HEAD0]
        rows = mItems[it, Item.ROWS]
        merge_id = mItems[it, Item.MERGE_ID]
        t_pre = Int32(0)  # TRACE build: globaltimer before the split's atomic and after it (both barriers),
        t_post = Int32(0)
        t_loop = Int32(0)  # and (merging part, thread 0) at the end of the merge's loop over the parts
        # normalized output and log2-domain LSE per row half; a row that saw no key: O = 0, LSE = -inf
        inv = cute.make_rmem_tensor((2,), Float32)
        lse2 = cute.make_rmem_tensor((2,), Float32)
        for h in cutlass.range_constexpr(2):
            total = cute.arch.warp_reduction_sum(row_sum[h], threads_in_group=4)
            inv[h] = 0.0
            lse2[h] = -Float32.inf
            if total > 0.0:
                inv[h] = 1.0 / total
                lse2[h] = row_max[h] + cute.math.log2(total, fastmath=False)
        is_lse_writer = tidx % 4 == 0
        if merge_id < 0:
            for k in cutlass.range_constexpr(cute.size(acc_O)):
                r = tOcO[k][0]
                if r < rows:
                    mO[batch, head0 + r, tOcO[k][1]] = (acc_O[k] * inv[(k // 2) % 2]).to(self.dtype)
            for h in cutlass.range_constexpr(2):
                r = tOcO[2 * h][0]
                if is_lse_writer and r < rows:
                    mLse[batch, head0 + r] = lse2[h] * LN2
        else:
            # the split's first tmp row, read once here: after the atomic's acquire (which invalidates L1) a second
            # read of the item row would be one more L2 round trip ahead of the merge's loads (session 19 trace).
            # (Session 19 call 6: reading part / tmp_base / num_parts with the item's other fields, before the
            # normalization, moved 1 x 32k by -0.3..+0.7 %, control -0.4..-0.0: not kept, 154b9ff.)
            tmp_base = mItems[it, Item.TMP_BASE]
            tmp_row = tmp_base + mItems[it, Item.PART] * rows
            for k in cutlass.range_constexpr(cute.size(acc_O)):
                r = tOcO[k][0]
                if r < rows:
                    mTmpO[tmp_row + r, tOcO[k][1]] = acc_O[k] * inv[(k // 2) % 2]
            for h in cutlass.range_constexpr(2):
                r = tOcO[2 * h][0]
                if is_lse_writer and r < rows:
                    mTmpLse[tmp_row + r] = lse2[h]
            # release the partial, count it; the last part to arrive merges (threadFenceReduction)
            # barrier, then thread 0's acq_rel atomic: its release covers the CTA's stores ordered before it by the
            # barrier, its acquire the other parts' stores the merge reads after the second barrier (no per-thread
            # fence: CUTLASS's arrive/wait pattern)
            cute.arch.barrier(barrier_id=CONSUMER_BARRIER, number_of_threads=WARPGROUP)
            if cutlass.const_expr(TRACE):
                t_pre = cute.arch.globaltimer_lo()
            num_parts = mItems[it, Item.NUM_PARTS]
            if tidx == 0:
                old = cute.arch.atomic_add(mCounter.iterator + merge_id, Int32(1), sem="acq_rel", scope="gpu")
                sFlag[0] = Int32(1) if old == num_parts - 1 else Int32(0)
            cute.arch.barrier(barrier_id=CONSUMER_BARRIER, number_of_threads=WARPGROUP)
            if cutlass.const_expr(TRACE):
                t_post = cute.arch.globaltimer_lo()
            if sFlag[0] == 1:
                t_loop = self._merge(mTmpO, mTmpLse, mO, mLse, batch, head0, rows, tmp_base, num_parts, tidx)
                if tidx == 0:
                    mCounter[merge_id] = Int32(0)
        return t_pre, t_post, t_loop

    @cute.jit
    def _merge(
        self,
        mTmpO: cute.Tensor,
        mTmpLse: cute.Tensor,
        mO: cute.Tensor,
        mLse: cute.Tensor,
        batch: Int32,
        head0: Int32,
        rows: Int32,
        tmp_base: Int32,
        num_parts: Int32,
        tidx: Int32,
    ):
        """out[batch, head0 + i] = sum_p 2^(lse_p - m) o_p / sum_p 2^(lse_p - m); every part is nonempty.
        One online pass over the parts; a thread owns MERGE_ELEMS adjacent columns of one row (all
        rows x head_dim elements in one round for rows * head_dim <= 128 * MERGE_ELEMS), and
        MERGE_UNROLL parts' loads are in flight together."""
        n = rows * self.head_dim
        acc = cute.make_rmem_tensor((MERGE_ELEMS,), Float32)
        o_p = cute.make_rmem_tensor((MERGE_ELEMS,), Float32)
        t_loop = Int32(0)  # TRACE build: globaltimer after the loop over the parts (the thread's last element)
        for e in cutlass.range(tidx * MERGE_ELEMS, n, WARPGROUP * MERGE_ELEMS, unroll=1):
            i = e // self.head_dim
            c = e % self.head_dim
            m = -Float32.inf
            total = Float32(0.0)
            acc.fill(0.0)
            for p in cutlass.range(num_parts, unroll=MERGE_UNROLL):
                r = tmp_base + p * rows + i
                lse_p = mTmpLse[r]
                # the thread's MERGE_ELEMS adjacent fp32 columns as one 16-byte load (c % 4 == 0, rows of head_dim)
                o_src = cute.make_ptr(Float32, (mTmpO.iterator + cute.crd2idx((r, c), mTmpO.layout)).toint(),
                                      cute.AddressSpace.gmem, assumed_align=16)
                cute.autovec_copy(cute.make_tensor(o_src, cute.make_layout(MERGE_ELEMS)), o_p)
                m_new = cute.arch.fmax(m, lse_p)
                rescale = cute.math.exp2(m - m_new, fastmath=True)
                w = cute.math.exp2(lse_p - m_new, fastmath=True)
                total = total * rescale + w
                for j in cutlass.range_constexpr(MERGE_ELEMS):
                    acc[j] = acc[j] * rescale + w * o_p[j]
                m = m_new
            if cutlass.const_expr(TRACE):
                t_loop = cute.arch.globaltimer_lo()
            inv = 1.0 / total
            for j in cutlass.range_constexpr(MERGE_ELEMS):
                mO[batch, head0 + i, c + j] = (acc[j] * inv).to(self.dtype)
            if c == 0:
                mLse[batch, head0 + i] = (m + cute.math.log2(total, fastmath=False)) * LN2
        return t_loop


def compile_decode(spec):
    """Compile one decode variant for sm_90a with symbolic sizes and strides (no GPU needed)."""
    dtype = DTYPES[spec.dtype]
    d = spec.head_dim
    op = DecodeSm90(spec.dtype, d, spec.stages, spec.item_heads, spec.dyn_heads)
    sym = cute.sym_int
    s64 = lambda: cute.sym_int64(divisibility=8)  # noqa: E731
    fake = cute.runtime.make_fake_tensor
    batch, hq = sym(), sym()
    q = fake(dtype, (batch, hq, d), stride=(s64(), s64(), 1), assumed_align=16)
    o = fake(dtype, (batch, hq, d), stride=(s64(), s64(), 1), assumed_align=16)
    kv_shape = (sym(), sym(), sym(), d)
    k = fake(dtype, kv_shape, stride=(s64(), s64(), s64(), 1), assumed_align=16)
    v = fake(dtype, kv_shape, stride=(s64(), s64(), s64(), 1), assumed_align=16)
    lse = fake(Float32, (batch, hq), stride=(cute.sym_int64(), 1), assumed_align=4)
    i32 = cutlass.Int32
    kv_indices = cute.runtime.make_fake_compact_tensor(i32, (sym(),), assumed_align=4)
    items = cute.runtime.make_fake_compact_tensor(i32, (sym(), ITEM_WIDTH), stride_order=(1, 0), assumed_align=16)
    cta_ptr = cute.runtime.make_fake_compact_tensor(i32, (sym(),), assumed_align=4)
    tmp_o = cute.runtime.make_fake_compact_tensor(Float32, (sym(), d), stride_order=(1, 0), assumed_align=16)
    tmp_lse = cute.runtime.make_fake_compact_tensor(Float32, (sym(),), assumed_align=4)
    counters = cute.runtime.make_fake_compact_tensor(i32, (sym(),), assumed_align=4)
    stream = cute.runtime.make_fake_stream(use_tvm_ffi_env_stream=True)
    options = f"--enable-tvm-ffi --gpu-arch {spec.arch}"
    if PTR_ARGS:
        gmem = cute.AddressSpace.gmem
        ptr = lambda t, align: cute.runtime.make_ptr(t, 0, gmem, assumed_align=align)  # noqa: E731
        return cute.compile(
            op.call_ptrs, q, k, v, ptr(i32, 4), ptr(i32, 16), ptr(i32, 4), o, lse, ptr(Float32, 16), ptr(Float32, 4),
            ptr(i32, 4), Int32(1), Int32(1), Int32(1), Float32(1.0), stream, options=options,
        )
    return cute.compile(
        op, q, k, v, kv_indices, items, cta_ptr, o, lse, tmp_o, tmp_lse, counters, Int32(1), Float32(1.0), stream,
        options=options,
    )
