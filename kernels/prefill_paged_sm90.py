"""Prefill / append attention over a paged KV cache on Hopper (sm_90a), any page size (1 included).

The consumers and the epilogue are those of :class:`PrefillSm90` (inherited unchanged); only the
producer differs: Q by TMA as before, K/V gathered row by row from the pages with 16-byte cp.async
(``common/paged_loader.py``). Compile with :func:`compile_prefill_paged`; the API is
``cute_attn.BatchPrefillWithPagedKVCacheWrapper``.
"""

from __future__ import annotations

import os

os.environ.setdefault("CUTE_DSL_ARCH", "sm_90a")

import cuda.bindings.driver as cuda  # noqa: E402
import cutlass  # noqa: E402
import cutlass.cute as cute  # noqa: E402
import cutlass.pipeline as pipeline  # noqa: E402
from cutlass import Float32, Int32, Int64  # noqa: E402
from cutlass.cute.nvgpu import cpasync  # noqa: E402

from .common.config import WARPGROUP_THREADS  # noqa: E402
from .common.mask import BlockRange  # noqa: E402
from .common.paged_loader import PagedRowGather, make_kv_pipeline, publish_gather, wait_empty  # noqa: E402
from .common.seqlen import SeqlenInfo  # noqa: E402
from .common.softmax import LOG2_E  # noqa: E402
from .common.tile_scheduler import StaticWorkListScheduler  # noqa: E402
from .prefill_sm90 import DTYPES, WARP_THREADS, PrefillSm90  # noqa: E402

# (consumer warpgroups) -> (producer, consumer) registers: the gathering producer warpgroup needs more
# than the 24 of a TMA producer (row offsets, page-table state): 128 * 40 + 256 * 232 = 64512; with three
# consumer warpgroups the dense budget (32 / 160) stands
GATHER_REGISTER_BUDGET = {2: (40, 232), 3: (32, 160)}


class PrefillPagedSm90(PrefillSm90):
    """:class:`PrefillSm90` with K/V gathered from a paged cache.

    ==========  ============  =================================================================
    role        warps         work per tile (tile_m query rows of one head, key blocks high -> low)
    ==========  ============  =================================================================
    producer    wg 0 (all 4)  K(first) gather -> Q (TMA, warp 0) -> [K(j+1), V(j)] gathers ->
                              V(last). A gather: the lane-owned row offsets of the block (page id
                              + fast divmod, computed one block ahead), shuffled to the
                              threads_per_row lanes of each row, 16-byte cp.async per lane, then
                              cp.async.mbarrier.arrive.noinc on the stage's full barrier.
    consumer i  wg 1 + i      as PrefillSm90 (S = Q K^T, masks, online softmax, O += P V,
                              ping-pong, epilogue): unchanged code.
    ==========  ============  =================================================================

    Pipelines:

    - ``q``: ``PipelineTmaAsync``, 1 stage (as PrefillSm90).
    - ``k``, ``v``: ``PipelineTmaAsync`` (the dense kernel's), ``stages`` each; empty barrier: one elected
      lane per consumer warp (as PrefillSm90); full barrier: one arrival per producer warp. A gather is one
      cp.async commit group per thread; once it landed (``cp.async.wait_group``) each thread fences it from
      the generic to the async proxy and lane 0 of each warp arrives (``paged_loader.publish_gather``), so the
      consumers' wait is the dense one, without a fence before the wgmma issue. In the key loop K(n) and
      V(n + 1) are two groups in flight: ``wait_group 1`` publishes K, ``wait_group 0`` V.

    Rows at or past kv_len are clamped to the last row (valid memory, masked keys). The cache is the
    NHD-shaped view ``(num_pages, page_size, num_kv_heads, d)`` with any strides (HND is a transposed
    view); K and V share their strides, so one offset per row serves both.
    sO: its own buffer where the dense config has one (``separate_o``, hd <= 192: Q released after the tile's
    last S GEMM, per-warpgroup epilogue, as PrefillSm90 v3); aliasing sQ for hd256. Measured (H100, run 19,
    bench/NOTES-prefill-paged.md): one release arrival per consumer warp and a third K/V stage (with sO
    aliased) were both slower, not kept.
    Registers: producer ``GATHER_REGISTER_BUDGET`` (40), consumers 232 (2 consumer warpgroups).
    Not done: the TMA-per-page path for page_size a multiple of tile_n (the gather serves all sizes).
    """

    def __init__(self, dtype: str, head_dim: int, head_dim_v: int, causal: bool):
        super().__init__(dtype, head_dim, head_dim_v, causal)
        assert head_dim == head_dim_v, "K and V rows share one gather geometry"
        self.producer_regs, self.consumer_regs = GATHER_REGISTER_BUDGET[self.consumer_wgs]
        self.gather = PagedRowGather(self.dtype, head_dim, self.tile_n, WARPGROUP_THREADS)

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
        mWork: cute.Tensor,  # (num_work, 4) int32: (batch, m_block, q_head, 0)
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

        # own sO where the dense config has one (hd <= 192): Q released after the tile's last S GEMM, per-WG epilogue
        self.separate_o = self._separate_o_cfg
        self.shared_storage = self._shared_storage(sQ_layout, sK_layout, sV_layout, sO_layout)
        self.kernel_paged(
            tma_Q, gmem_Q, mK, mV, mO, mLse, mCuSeqlensQ, mCuSeqlensK, mKvIndptr, mKvIdx, mWork, num_ctas,
            softmax_scale * LOG2_E,
        ).launch(grid=[num_ctas, 1, 1], block=[self.threads, 1, 1], stream=stream, min_blocks_per_mp=1)

    # ------------------------------------------------------------------------------------ device

    @cute.kernel
    def kernel_paged(
        self,
        tma_Q: cute.CopyAtom,
        mQ: cute.Tensor,
        mK: cute.Tensor,
        mV: cute.Tensor,
        mO: cute.Tensor,
        mLse: cute.Tensor,
        mCuSeqlensQ: cute.Tensor,
        mCuSeqlensK: cute.Tensor,
        mKvIndptr: cute.Tensor,
        mKvIdx: cute.Tensor,
        mWork: cute.Tensor,
        num_ctas: Int32,
        scale_log2: Float32,
    ):
        tidx, _, _ = cute.arch.thread_idx()
        warp_idx = cute.arch.make_warp_uniform(cute.arch.warp_idx())
        if warp_idx == 0:
            cpasync.prefetch_descriptor(tma_Q)

        smem = cutlass.utils.SmemAllocator()
        storage = smem.allocate(self.shared_storage)
        pipe_q = pipeline.PipelineTmaAsync.create(
            barrier_storage=storage.mbar_q.data_ptr(), num_stages=1,
            producer_group=pipeline.CooperativeGroup(pipeline.Agent.Thread, 1),
            # PipelineTmaAsync releases from one elected lane per warp: the empty barrier counts warps
            consumer_group=pipeline.CooperativeGroup(pipeline.Agent.Thread, self.consumer_warps),
            tx_count=self.tx_bytes_q, defer_sync=True,
        )
        producer_warps = WARPGROUP_THREADS // WARP_THREADS
        pipe_k = make_kv_pipeline(self.stages, storage.mbar_k.data_ptr(), producer_warps, self.consumer_warps, 0)
        pipe_v = make_kv_pipeline(self.stages, storage.mbar_v.data_ptr(), producer_warps, self.consumer_warps, 0)
        cute.arch.mbarrier_init_fence()
        cute.arch.barrier()

        sQ_layout, sK_layout, sV_layout, sO_layout = self._layouts()
        sQ = storage.sQ.get_tensor(sQ_layout.outer, swizzle=sQ_layout.inner)
        sK = storage.sK.get_tensor(sK_layout.outer, swizzle=sK_layout.inner)
        sV = storage.sV.get_tensor(sV_layout.outer, swizzle=sV_layout.inner)
        if cutlass.const_expr(self.separate_o):
            sO = storage.sO.get_tensor(sO_layout.outer, swizzle=sO_layout.inner)
        else:
            sO = storage.sQ.get_tensor(sO_layout.outer, swizzle=sO_layout.inner)
        scheduler = StaticWorkListScheduler(mWork, num_ctas)
        blocks = BlockRange(self.tile_m, self.tile_n, self.causal)

        if warp_idx < WARPGROUP_THREADS // WARP_THREADS:
            cute.arch.setmaxregister_decrease(self.producer_regs)
            self.produce_paged(
                tma_Q, mQ, mK, mV, sQ, sK, sV, pipe_q, pipe_k, pipe_v, mCuSeqlensQ, mCuSeqlensK, mKvIndptr,
                mKvIdx, scheduler, blocks, tidx, warp_idx,
            )
        else:
            cute.arch.setmaxregister_increase(self.consumer_regs)
            self.consume(
                sQ, sK, sV, sO, pipe_q, pipe_k, pipe_v, mO, mLse, mCuSeqlensQ, mCuSeqlensK, scheduler, blocks,
                scale_log2, tidx - WARPGROUP_THREADS,
            )

    # ------------------------------------------------------------------------------------ producer

    @cute.jit
    def produce_paged(
        self,
        tma_Q: cute.CopyAtom,
        mQ: cute.Tensor,
        mK: cute.Tensor,
        mV: cute.Tensor,
        sQ: cute.Tensor,
        sK: cute.Tensor,
        sV: cute.Tensor,
        pipe_q: pipeline.PipelineAsync,
        pipe_k: pipeline.PipelineAsync,
        pipe_v: pipeline.PipelineAsync,
        mCuSeqlensQ: cute.Tensor,
        mCuSeqlensK: cute.Tensor,
        mKvIndptr: cute.Tensor,
        mKvIdx: cute.Tensor,
        scheduler: StaticWorkListScheduler,
        blocks: BlockRange,
        ptid: Int32,
        warp_idx: Int32,
    ):
        q_per_kv = mQ.shape[2] // mK.shape[2]
        page_div = cute.FastDivmodDivisorV2(mK.shape[1])
        page_stride = Int64(mK.stride[0])
        row_stride = Int64(mK.stride[1])
        head_stride = Int64(mK.stride[2])
        tiled_copy = self.gather.tiled_copy()
        thr_copy = tiled_copy.get_slice(ptid)
        tKsK = thr_copy.partition_D(sK)  # (CPY, passes, 1, stages)
        tVsV = thr_copy.partition_D(sV)
        # row offsets (lane-owned) of the V block to copy next, the K block to copy next, and the one after
        off_v = self.gather.make_offsets()
        off_k = self.gather.make_offsets()
        off_pf = self.gather.make_offsets()

        q_state = pipeline.make_pipeline_state(pipeline.PipelineUserType.Producer, 1)
        kv_state = pipeline.make_pipeline_state(pipeline.PipelineUserType.Producer, self.stages)
        # the consumers' walk of the work list (serpentine rounds): every role must take the same tiles
        first, end, step = scheduler.round_range()
        for rnd in cutlass.range(first, end, step, unroll=1):
            tile = scheduler.tile(scheduler.row(rnd))
            seq = SeqlenInfo.create(tile.batch, mCuSeqlensQ, mCuSeqlensK)
            head_off = Int64(tile.q_head // q_per_kv) * head_stride
            gQ = cute.local_tile(seq.request_q(mQ)[None, None, tile.q_head], (self.tile_m, self.head_dim), (tile.m_block, 0))
            tQsQ, tQgQ = cpasync.tma_partition(
                tma_Q, 0, cute.make_layout(1), cute.group_modes(sQ, 0, 2), cute.group_modes(gQ, 0, 2)
            )
            offsets = (mKvIdx, mKvIndptr, tile.batch)
            n_block_max = blocks.n_block_max(seq, tile.m_block)
            if n_block_max > 0:
                self.gather.row_offsets(off_v, *offsets, n_block_max - 1, seq.kv_len, page_div, page_stride, row_stride, ptid)
                self.gather.row_offsets(
                    off_k, *offsets, cutlass.max(n_block_max - 2, 0), seq.kv_len, page_div, page_stride, row_stride, ptid
                )
                self._gather(pipe_k, mK, head_off, tKsK, off_v, thr_copy, tiled_copy, kv_state, ptid)
            if warp_idx == 0:
                pipe_q.producer_acquire(q_state)
                cute.copy(tma_Q, tQgQ, tQsQ, tma_bar_ptr=pipe_q.producer_get_barrier(q_state))
            q_state.advance()
            if n_block_max > 0:
                # the first K was issued before Q, published after it
                publish_gather(pipe_k, kv_state, 0)
                # K of block n goes out before V of block n + 1: the consumers need them in that order
                for i in cutlass.range(n_block_max - 1, unroll=1):
                    n_block = n_block_max - 2 - i
                    # the page ids of the block after this one load while this block's copies issue
                    self.gather.row_offsets(
                        off_pf, *offsets, cutlass.max(n_block - 1, 0), seq.kv_len, page_div, page_stride, row_stride,
                        ptid,
                    )
                    v_state = kv_state.clone()
                    kv_state.advance()
                    self._gather(pipe_k, mK, head_off, tKsK, off_k, thr_copy, tiled_copy, kv_state, ptid)
                    self._gather(pipe_v, mV, head_off, tVsV, off_v, thr_copy, tiled_copy, v_state, ptid)
                    # two commit groups in flight: K lands first
                    publish_gather(pipe_k, kv_state, 1)
                    publish_gather(pipe_v, v_state, 0)
                    for r in cutlass.range_constexpr(self.gather.id_regs):
                        off_v[r] = off_k[r]
                        off_k[r] = off_pf[r]
                self._gather(pipe_v, mV, head_off, tVsV, off_v, thr_copy, tiled_copy, kv_state, ptid)
                publish_gather(pipe_v, kv_state, 0)
                kv_state.advance()

    @cute.jit
    def _gather(
        self,
        pipe: pipeline.PipelineAsync,
        mX: cute.Tensor,
        head_off: Int64,
        tXsX: cute.Tensor,
        offsets: cute.Tensor,
        thr_copy: cute.ThrCopy,
        tiled_copy: cute.TiledCopy,
        state: pipeline.PipelineState,
        ptid: Int32,
    ):
        """Issue the thread's copies of one K or V tile as one commit group (published by ``publish_gather``)."""
        wait_empty(pipe, state)
        self.gather.copy_tile(mX, head_off, tXsX[None, None, None, state.index], offsets, thr_copy, tiled_copy, ptid)
        cute.arch.cp_async_commit_group()


def compile_prefill_paged(spec):
    """Compile one paged prefill variant for sm_90a with symbolic sizes and strides (no GPU needed)."""
    dtype = DTYPES[spec.dtype]
    d, dv = spec.head_dim, spec.head_dim_v
    op = PrefillPagedSm90(spec.dtype, d, dv, bool(spec.causal))
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
    stream = cute.runtime.make_fake_stream(use_tvm_ffi_env_stream=True)
    return cute.compile(
        op, q, k, v, o, lse, cu_q, cu_k, kv_indptr, kv_indices, work, Int32(1), Float32(1.0), stream,
        options=f"--enable-tvm-ffi --gpu-arch {spec.arch}",
    )
