"""Prefill attention forward on Hopper (sm_90a): the FlashAttention-3 design in the CuTe DSL.

Ragged batches (``cu_seqlens_q/k``), GQA, causal (bottom-right), natural-log LSE, persistent grid over a
host-made work list. Compile with :func:`compile_prefill` (no GPU needed); the API is
``cute_attn.prefill`` / ``BatchPrefillWithRaggedKVCacheWrapper``.
"""

from __future__ import annotations

import os

os.environ.setdefault("CUTE_DSL_ARCH", "sm_90a")

import cuda.bindings.driver as cuda  # noqa: E402
import cutlass  # noqa: E402
import cutlass.cute as cute  # noqa: E402
import cutlass.pipeline as pipeline  # noqa: E402
import cutlass.utils.hopper_helpers as sm90_utils  # noqa: E402
from cutlass import Float32, Int32, const_expr  # noqa: E402
from cutlass.cute.nvgpu import cpasync, warpgroup  # noqa: E402
from cutlass.tensor_utils import LayoutEnum  # noqa: E402

from .common.config import WARPGROUP_THREADS, PrefillConfig, prefill_cluster, prefill_config  # noqa: E402
from .common.mask import AttentionMask, BlockRange  # noqa: E402
from .common.named_barriers import PrefillBarrier  # noqa: E402
from .common.seqlen import SeqlenInfo  # noqa: E402
from .common.softmax import LN_2, LOG2_E, OnlineSoftmax, convert_p, rescale_rows  # noqa: E402
from .common.tile_scheduler import StaticWorkListScheduler, split_range  # noqa: E402
from .common.wgmma import gemm  # noqa: E402

DTYPES = {"bf16": cutlass.BFloat16, "fp16": cutlass.Float16}
WARP_THREADS = 32
COPY_BITS = 128

# Debug build switch (read when this module is imported, i.e. at build time; off by default; never set it for a
# build that the API uses): the K stage's round trip per key block, as SM clock stamps (``%clock``, 32 bits; all
# stamps of a CTA come from one SM) written as int32 words AFTER the last element of the LSE tensor
# (``bench/prefill_paged_trace.py`` allocates the LSE with ``ctas * Tr.CTA_WORDS`` spare words behind it).
# CTA c owns words [c * CTA_WORDS, (c + 1) * CTA_WORDS) of that tail: a header (``Tr.SMID`` ...) and one record of
# ``Tr.REC`` words per K block of the CTA's stream, indexed by the pipeline count (the CTA's k-th K block, tiles
# in order; its first ``Tr.BLOCKS`` blocks), written by producer thread 0 and thread 0 of each consumer warpgroup.
TRACE = os.environ.get("CUTE_ATTN_PREFILL_TRACE", "0") == "1"


class Tr:
    """Word layout of the ``TRACE`` build's per-CTA area (int32 words)."""

    HEADER = 16
    REC = 24
    BLOCKS = 1024  # records per CTA: its first BLOCKS K blocks (4 x 4k hd128 causal: ~260 per CTA)
    CTA_WORDS = HEADER + REC * BLOCKS
    # header: SM id; globaltimer_lo and clock at the producer's start; the same at consumer warpgroup 0's start
    # and end; K blocks produced / consumed (pipeline counts at the end); tiles (work rows) of the CTA
    SMID, P_GT0, P_CLK0, C_GT0, C_CLK0, C_GT1, C_CLK1, P_COUNT, C_COUNT, ROUNDS = range(10)
    # record (one K block): work row and key block (producer); producer thread 0: clock before the K stage's
    # empty-barrier wait, after it returned, before its first copy (cp.async / TMA) of the block, after its last
    # copy (before its arrival on the full barrier); V of the same block: after the empty wait, after the last copy
    TILE, NBLK, PK_WAIT, PK_GOT, PK_FIRST, PK_LAST, PV_GOT, PV_LAST = range(8)
    # consumer warpgroup w (its thread 0), at CK_WAIT + 3 w: clock before the K full-barrier wait, after it
    # returned, after the K stage's release; CV_GOT + w: after the V full-barrier wait returned
    CK_WAIT, CK_GOT, CK_REL = 8, 9, 10
    CV_GOT = 14
    # lane 0 of producer warp w = 1, 2, 3 (gathers, box 16; the dense and box-64 producers are warp 0 alone), at
    # PKW_LAST + w - 1: after its last copy of the K block, PKW_GOT + w - 1: after its K empty wait returned;
    # consumer warpgroup w at CV_WAIT + w: before the V full-barrier wait
    PKW_LAST, PKW_GOT, CV_WAIT = 16, 19, 22


# the producer's stamps of a K / V block (``PrefillSm90._stamp_p``): before the empty wait, after it, before the first
# copy, after the last copy
TRACE_K_COLS = (Tr.PK_WAIT, Tr.PK_GOT, Tr.PK_FIRST, Tr.PK_LAST)
TRACE_V_COLS = (None, Tr.PV_GOT, None, Tr.PV_LAST)


class PrefillSm90:
    """Warp-specialized, persistent attention forward; one CTA per SM walks its rows of the work list.

    ==========  ============  =================================================================
    role        warps         work per tile (tile_m query rows of one head, key blocks high -> low)
    ==========  ============  =================================================================
    producer    wg 0, warp 0  TMA: K(first) -> Q -> [K(j+1), V(j)]... -> V(last); warps 1-3 exit
    consumer i  wg 1 + i      rows [64 i, 64 i + 64): S = Q K^T (wgmma SS) -> mask -> online softmax
                              (exp2, scale folded into log2 e) -> P bf16/fp16 in registers ->
                              O += P V (wgmma RS); S(j+1) is issued before softmax(j) (intra-wg
                              overlap) and, ping-pong on, the two consumer warpgroups take turns
                              issuing GEMMs (named barriers CONSUMER_WG0/1), so one's softmax runs
                              under the other's GEMMs. O is rescaled before each PV issue (FA3
                              order). Epilogue (per warpgroup, its 64 rows): O / rowsum -> sO
                              (stmatrix) -> one TMA store of the 64 rows (thread 0 of the
                              warpgroup) if they all lie inside the request, else 16-byte vector
                              stores of the rows < q_len; LSE (ln).
    ==========  ============  =================================================================

    Pipelines (``PipelineTmaAsync``; producer arrive count 1 with the TMA byte count, consumer arrive
    count = consumer warps, one elected lane per warp):

    - ``q``: 1 stage, Q tile. With its own sO (``separate_o``: hd <= 192) released once the tile's last S
      GEMM completed, so the next tile's Q loads under the last PV and the epilogue; where sO aliases sQ
      (hd256, and subclasses with their own launch) released after the epilogue has read sO back. With the
      config's ``q_rs`` (Q in registers, S GEMMs wgmma RS: hd64 causal) each warp releases Q right after its
      ldmatrix copy.
    - the next tile's work row and ``cu_seqlens`` are read at the start of the current tile (``_fetch_tile``).
    - ``k``, ``v``: ``stages`` (2) each, K and V tiles of one key block share the stage index (one pipeline
      state serves both). K is released as soon as S = Q K^T completed, V after O += P V completed. The
      pipeline state runs on across tiles, so the producer prefetches the next tile's first K during the epilogue.

    Registers (``setmaxnreg``): producer warpgroup drops to ``producer_regs``, consumers rise to
    ``consumer_regs`` (config.py: 24 / 240 with two consumer warpgroups).

    Hooks for another K/V source (``prefill_paged_sm90``): :meth:`_launch` takes the K/V source as one tuple
    ``kv`` that only :meth:`_prefetch_kv`, :meth:`_kv_pipelines` and :meth:`produce` read; a subclass overrides
    those three and shares :meth:`kernel` (allocation, roles, registers), the consumers and the epilogue. The
    producer walks the tiles with :meth:`_producer_tile` (the consumers' order: the CTA's list of work rows).

    Output store (``tma_store_o``, on in the table but for hd192 non-causal): an epilogue part (a warpgroup's 64
    rows, or the whole tile without the per-warpgroup epilogue) whose rows all lie inside the request leaves sO by
    one TMA bulk tensor store (box = the part, over the whole ``(total_q, dv, h_q)`` O at row
    ``offset_q + m_block * tile_m (+ 64 wg)``, several boxes per row where dv > 64: one per 128-byte swizzle atom
    column); a part that ends past the request's last row keeps the vectorized predicated store (a box cannot stop
    at the end of a request of a ragged batch: it would overwrite the next request's rows). Order and waits:
    :meth:`epilogue`. ``tma_store_o = 0`` (the paged kernel's config: ``prefill_config(paged=True)``) stores every
    part the predicated way.
    """

    # the kernel classes that take split work rows (config.split_kv; the paged subclass too since session 18)
    SPLIT_CAPABLE = True
    # the kernel classes whose K/V source may run as a 2-CTA cluster with K/V multicast (the build switch
    # ``CUTE_ATTN_PREFILL_CLUSTER=2``, config.prefill_cluster; NOTES-prefill 27): this one, not the paged subclass
    CLUSTER_CAPABLE = True

    def __init__(self, dtype: str, head_dim: int, head_dim_v: int, causal: bool, tile_m: int = 0):
        self.dtype = DTYPES[dtype]
        self.head_dim = head_dim
        self.head_dim_v = head_dim_v
        self.causal = causal
        cfg = self._config(head_dim, head_dim_v, causal, tile_m)
        self.tile_m = cfg.tile_m
        self.tile_n = cfg.tile_n
        self.stages = cfg.stages
        self.consumer_wgs = cfg.consumer_wgs
        self.pingpong = cfg.pingpong and cfg.consumer_wgs in (2, 3)
        self.producer_regs = cfg.producer_regs
        self.consumer_regs = cfg.consumer_regs
        self.threads = cfg.threads
        self.consumer_threads = WARPGROUP_THREADS * cfg.consumer_wgs
        self.consumer_warps = self.consumer_threads // WARP_THREADS
        self.rescale_before_pv = cfg.rescale_before_pv
        self.skip_rescale = cfg.skip_rescale
        self.rescale_threshold = float(cfg.rescale_threshold)
        self.vote_max = cfg.vote_max  # prefill_config turns it off where there is no threshold
        self.max_chains = cfg.max_chains
        self.wg_epilogue = cfg.wg_epilogue
        # double_p: set from the config by the launching __call__ (this class's and prefill_paged_sm90's)
        self._double_p_cfg = cfg.double_p
        self.double_p = False
        # trim_diagonal (causal): the first visited key block per warpgroup at N = trim_n or skipped (config.py)
        self.trim_n = (self.tile_n // 2) // 16 * 16
        self.trim_diagonal = cfg.trim_diagonal if causal and self.trim_n >= 16 else 0
        # sO has its own buffer only where the launching __call__ allocates one (cfg.separate_o): this class's
        # and prefill_paged_sm90's both follow the config
        self._separate_o_cfg = cfg.separate_o
        self.separate_o = False
        # O by TMA store: set by :meth:`_launch` (which builds the store's atom) from the config
        self._tma_store_o_cfg = cfg.tma_store_o
        self.tma_store_o = False
        # q_rs: Q's A fragment in registers for the S GEMMs (config.py; hd64 causal)
        self.q_rs = cfg.q_rs
        # split_kv (config.py): pieces of tiles over the key axis, merged by the last piece to finish; dense
        # non-causal variants with their own sO and the per-warpgroup epilogue only
        self.split_kv = bool(cfg.split_kv) and self.SPLIT_CAPABLE and not causal
        assert not self.split_kv or (cfg.separate_o and cfg.wg_epilogue), "split_kv needs separate_o and wg_epilogue"
        assert head_dim_v <= head_dim, "sO aliases sQ"
        # CTAs per cluster (1: no cluster, the default; 2: the switch, dense non-causal hd256 only): the pair's CTAs
        # walk the same rows and key blocks, each loading half of every K / V box for both (multicast)
        self.cluster = prefill_cluster(head_dim, head_dim_v, causal) if self.CLUSTER_CAPABLE else 1
        assert not (TRACE and self.cluster > 1), "the TRACE build has no cluster form"
        assert not (self.split_kv and self.cluster > 1), "split work rows have no cluster form"

    def _config(self, head_dim: int, head_dim_v: int, causal: bool, tile_m: int) -> PrefillConfig:
        """The variant's config (the paged subclass reads the paged one)."""
        return prefill_config(head_dim, head_dim_v, causal, tile_m)

    # ------------------------------------------------------------------------------------ layouts

    def _smem_layout(self, rows: int, cols: int, stages: int | None = None):
        atom = warpgroup.make_smem_layout_atom(
            sm90_utils.get_smem_layout_atom(LayoutEnum.ROW_MAJOR, self.dtype, cols), self.dtype
        )
        if stages is None:
            return cute.tile_to_shape(atom, (rows, cols), order=(0, 1))
        return cute.tile_to_shape(atom, (rows, cols, stages), order=(0, 1, 2))

    def _layouts(self):
        return (
            self._smem_layout(self.tile_m, self.head_dim),
            self._smem_layout(self.tile_n, self.head_dim, self.stages),
            self._smem_layout(self.tile_n, self.head_dim_v, self.stages),
            self._smem_layout(self.tile_m, self.head_dim_v),
        )

    def _qk_tiled_mma(self, n: int):
        """The S = Q K^T tiled MMA at N = ``n`` (Q from shared memory, or with ``q_rs`` from registers)."""
        if const_expr(self.q_rs):
            return sm90_utils.make_trivial_tiled_mma(
                self.dtype, self.dtype, warpgroup.OperandMajorMode.K, warpgroup.OperandMajorMode.K, Float32,
                atom_layout_mnk=(self.consumer_wgs, 1, 1), tiler_mn=(64, n), a_source=warpgroup.OperandSource.RMEM,
            )
        return sm90_utils.make_trivial_tiled_mma(
            self.dtype, self.dtype, warpgroup.OperandMajorMode.K, warpgroup.OperandMajorMode.K, Float32,
            atom_layout_mnk=(self.consumer_wgs, 1, 1), tiler_mn=(64, n),
        )

    def _tiled_mmas(self):
        qk = self._qk_tiled_mma(self.tile_n)
        pv = sm90_utils.make_trivial_tiled_mma(
            self.dtype, self.dtype, warpgroup.OperandMajorMode.K, warpgroup.OperandMajorMode.MN, Float32,
            atom_layout_mnk=(self.consumer_wgs, 1, 1), tiler_mn=(64, self.head_dim_v),
            a_source=warpgroup.OperandSource.RMEM,
        )
        return qk, pv

    def _shared_storage(self, sQ_layout, sK_layout, sV_layout, sO_layout):
        """The CTA's shared memory struct; ``sO`` only with ``separate_o`` (else it aliases ``sQ``). Built with
        explicit annotations (this module's annotations are strings)."""
        def buf(layout):
            return cute.struct.Align[cute.struct.MemRange[self.dtype, cute.cosize(layout)], 1024]

        fields = {
            "mbar_q": cute.struct.MemRange[cutlass.Int64, 2],
            "mbar_k": cute.struct.MemRange[cutlass.Int64, 2 * self.stages],
            "mbar_v": cute.struct.MemRange[cutlass.Int64, 2 * self.stages],
            "sQ": buf(sQ_layout),
            "sK": buf(sK_layout),
            "sV": buf(sV_layout),
        }
        if self.separate_o:
            fields["sO"] = buf(sO_layout)
        if self.split_kv:
            # per consumer warpgroup: whether it is the last piece of its group to finish (split_kv)
            fields["split_last"] = cute.struct.MemRange[Int32, 4]
        return cute.struct(type("SharedStorage", (), {"__annotations__": fields}))

    # ------------------------------------------------------------------------------------ host

    @cute.jit
    def __call__(
        self,
        mQ: cute.Tensor,  # (total_q, h_q, d)
        mK: cute.Tensor,  # (total_k, h_k, d)
        mV: cute.Tensor,  # (total_k, h_k, dv)
        mO: cute.Tensor,  # (total_q, h_q, dv)
        mLse: cute.Tensor,  # (h_q, total_q) float32, natural log
        mCuSeqlensQ: cute.Tensor,  # (batch + 1,) int32
        mCuSeqlensK: cute.Tensor,  # (batch + 1,) int32
        mWork: cute.Tensor,  # (table rows + num_work, 4) int32: slot table, then (batch, m_block, q_head, split) rows
        mPart: cute.Tensor,  # (pieces * tile_m, dv + 1) float32: split_kv partial O and LSE (column dv) per piece row
        mCount: cute.Tensor,  # (groups * 4,) int32: split_kv pieces finished per (group, consumer warpgroup), zeroed
        num_ctas: Int32,
        softmax_scale: Float32,
        stream: cuda.CUstream,
    ):
        # (total, heads, dim) -> (total, dim, heads): TMA boxes are (rows, dim) slices of one head
        mQ, mK, mV, mO = [cute.make_tensor(t.iterator, cute.select(t.layout, mode=[0, 2, 1])) for t in (mQ, mK, mV, mO)]
        sQ_layout, sK_layout, sV_layout, sO_layout = self._layouts()
        self.separate_o = self._separate_o_cfg
        self.double_p = self._double_p_cfg
        tma_load = cpasync.CopyBulkTensorTileG2SOp()
        tma_Q, gmem_Q = cpasync.make_tiled_tma_atom(tma_load, mQ, sQ_layout, (self.tile_m, self.head_dim))
        # cluster: each CTA of the pair loads 1 / cluster of every K / V box and multicasts it to both
        tma_kv = cpasync.CopyBulkTensorTileG2SMulticastOp() if const_expr(self.cluster > 1) else tma_load
        tma_K, gmem_K = cpasync.make_tiled_tma_atom(
            tma_kv, mK, cute.select(sK_layout, mode=[0, 1]), (self.tile_n, self.head_dim), self.cluster
        )
        tma_V, gmem_V = cpasync.make_tiled_tma_atom(
            tma_kv, mV, cute.select(sV_layout, mode=[0, 1]), (self.tile_n, self.head_dim_v), self.cluster
        )
        self.tx_bytes_q = cute.size_in_bytes(self.dtype, sQ_layout)
        self.tx_bytes_k = cute.size_in_bytes(self.dtype, cute.select(sK_layout, mode=[0, 1]))
        self.tx_bytes_v = cute.size_in_bytes(self.dtype, cute.select(sV_layout, mode=[0, 1]))

        self.shared_storage = self._shared_storage(sQ_layout, sK_layout, sV_layout, sO_layout)
        self._launch(
            tma_Q, gmem_Q, (tma_K, gmem_K, tma_V, gmem_V), mO, mLse, mCuSeqlensQ, mCuSeqlensK, mWork, num_ctas,
            softmax_scale, stream, (mPart, mCount),
        )

    def _launch(self, tma_Q, mQ, kv, mO, mLse, mCuSeqlensQ, mCuSeqlensK, mWork, num_ctas, softmax_scale, stream,
                split: tuple = ()):
        """Launch :meth:`kernel` (one CTA per work-list slot); ``kv`` is the K/V source of :meth:`produce`
        (here the TMA atoms and coordinate tensors of K and V; a subclass passes its own). ``mO`` is the
        ``(total_q, dv, h_q)`` view; with ``tma_store_o`` the kernel gets ``(mO, tma_O, gmem_O)``: a TMA store atom
        whose box is one epilogue part (``_epilogue_part``) of sO. ``split``: ``(mPart, mCount)`` of a ``split_kv``
        variant (appended to ``o_out``)."""
        self.tma_store_o = self._tma_store_o_cfg
        o_out = (mO,)
        if const_expr(self.tma_store_o):
            _, rows = self._epilogue_part()
            part_layout = cute.composition(
                self._layouts()[3], (cute.make_layout(rows), cute.make_layout(self.head_dim_v))
            )
            tma_O, gmem_O = cpasync.make_tiled_tma_atom(
                cpasync.CopyBulkTensorTileS2GOp(), mO, part_layout, (rows, self.head_dim_v)
            )
            o_out = (mO, tma_O, gmem_O)
        if const_expr(self.split_kv):
            o_out = o_out + tuple(split)
        kernel = self.kernel(
            tma_Q, mQ, kv, o_out, mLse, mCuSeqlensQ, mCuSeqlensK, mWork, num_ctas, softmax_scale * LOG2_E,
        )
        if const_expr(self.cluster > 1):
            # num_ctas is a multiple of the cluster size (the host's plan: 2 CTAs per slot)
            kernel.launch(grid=[num_ctas, 1, 1], block=[self.threads, 1, 1], stream=stream, min_blocks_per_mp=1,
                          cluster=[self.cluster, 1, 1])
        else:
            kernel.launch(grid=[num_ctas, 1, 1], block=[self.threads, 1, 1], stream=stream, min_blocks_per_mp=1)

    # ------------------------------------------------------------------------------------ device

    @cute.kernel
    def kernel(
        self,
        tma_Q: cute.CopyAtom,
        mQ: cute.Tensor,
        kv: tuple,
        o_out: tuple,  # (mO,) or, with tma_store_o, (mO, tma_O, gmem_O); split_kv: then (mPart, mCount)
        mLse: cute.Tensor,
        mCuSeqlensQ: cute.Tensor,
        mCuSeqlensK: cute.Tensor,
        mWork: cute.Tensor,
        num_ctas: Int32,
        scale_log2: Float32,
    ):
        """Roles and pipelines; the hooks a subclass with another K/V source overrides: :meth:`_prefetch_kv`,
        :meth:`_kv_pipelines`, :meth:`produce` (the consumers are shared)."""
        tidx, _, _ = cute.arch.thread_idx()
        warp_idx = cute.arch.make_warp_uniform(cute.arch.warp_idx())
        if warp_idx == 0:
            cpasync.prefetch_descriptor(tma_Q)
            self._prefetch_kv(kv)
            if const_expr(self.tma_store_o):
                cpasync.prefetch_descriptor(o_out[1])

        smem = cutlass.utils.SmemAllocator()
        storage = smem.allocate(self.shared_storage)
        pipe_q = pipeline.PipelineTmaAsync.create(
            barrier_storage=storage.mbar_q.data_ptr(), num_stages=1,
            producer_group=pipeline.CooperativeGroup(pipeline.Agent.Thread, 1),
            # PipelineTmaAsync releases from one elected lane per warp: the empty barrier counts warps
            consumer_group=pipeline.CooperativeGroup(pipeline.Agent.Thread, self.consumer_warps),
            tx_count=self.tx_bytes_q, defer_sync=True,
        )
        pipe_k, pipe_v = self._kv_pipelines(storage)
        cute.arch.mbarrier_init_fence()
        if const_expr(self.cluster > 1):
            # the peer CTA multicasts into this CTA's K / V stages and arrives on its empty barriers: every barrier
            # of the cluster is initialized before any CTA goes on
            cute.arch.cluster_arrive_relaxed()
            cute.arch.cluster_wait()
        else:
            cute.arch.barrier()

        sQ_layout, sK_layout, sV_layout, sO_layout = self._layouts()
        sQ = storage.sQ.get_tensor(sQ_layout.outer, swizzle=sQ_layout.inner)
        sK = storage.sK.get_tensor(sK_layout.outer, swizzle=sK_layout.inner)
        sV = storage.sV.get_tensor(sV_layout.outer, swizzle=sV_layout.inner)
        if const_expr(self.separate_o):
            sO = storage.sO.get_tensor(sO_layout.outer, swizzle=sO_layout.inner)
        else:
            sO = storage.sQ.get_tensor(sO_layout.outer, swizzle=sO_layout.inner)
        scheduler = StaticWorkListScheduler(mWork, self.cluster)
        blocks = BlockRange(self.tile_m, self.tile_n, self.causal)
        if const_expr(TRACE):
            self._trace_init(mLse)

        if warp_idx < WARPGROUP_THREADS // WARP_THREADS:
            cute.arch.setmaxregister_decrease(self.producer_regs)
            if const_expr(TRACE):
                self._trace_now(Tr.P_GT0, Tr.P_CLK0, tidx == 0, True)
            self.produce(
                tma_Q, mQ, kv, (sQ, sK, sV), (pipe_q, pipe_k, pipe_v), (mCuSeqlensQ, mCuSeqlensK, scheduler, blocks),
                tidx,
            )
        else:
            cute.arch.setmaxregister_increase(self.consumer_regs)
            if const_expr(TRACE):
                self._trace_now(Tr.C_GT0, Tr.C_CLK0, tidx == WARPGROUP_THREADS, False)
            split_io = ()
            if const_expr(self.split_kv):
                split_io = (o_out[-2], o_out[-1], storage.split_last.get_tensor(cute.make_layout(4)))
            self.consume(
                sQ, sK, sV, sO, pipe_q, pipe_k, pipe_v, o_out, mLse, mCuSeqlensQ, mCuSeqlensK, scheduler, blocks,
                scale_log2, tidx - WARPGROUP_THREADS, split_io,
            )
            if const_expr(TRACE):
                self._trace_now(Tr.C_GT1, Tr.C_CLK1, tidx == WARPGROUP_THREADS, False)

    # ------------------------------------------------------------------------------------ TRACE build

    def _trace_init(self, mLse: cute.Tensor):
        """``TRACE``: ``self._trace``, this CTA's int32 words behind the last element of ``mLse``."""
        end = cute.crd2idx((mLse.shape[0] - 1, mLse.shape[1] - 1), mLse.layout) + 1
        bidx, _, _ = cute.arch.block_idx()
        off = cutlass.Int64(end) + cutlass.Int64(bidx) * Tr.CTA_WORDS
        ptr = cute.make_ptr(Int32, (mLse.iterator + off).toint(), cute.AddressSpace.gmem, assumed_align=4)
        self._trace = cute.make_tensor(ptr, cute.make_layout(Tr.CTA_WORDS))

    @cute.jit
    def _trace_now(self, gt_col: int, clk_col: int, writer, smid: cutlass.Constexpr[bool]):
        """``TRACE`` header: globaltimer_lo and clock (and the SM id) now, by ``writer``."""
        t = self._trace
        if writer:
            t[gt_col] = cute.arch.globaltimer_lo()
            t[clk_col] = cute.arch.clock()
            if const_expr(smid):
                t[Tr.SMID] = cute.arch.smid()

    @cute.jit
    def _stamp(self, seq: Int32, col, writer):
        """``TRACE``: the SM clock into word ``col`` of K block ``seq``'s record (``writer``: this thread writes)."""
        if const_expr(TRACE):
            t = self._trace
            if writer:
                if seq < Tr.BLOCKS:
                    t[Tr.HEADER + seq * Tr.REC + col] = cute.arch.clock()

    @cute.jit
    def _put(self, seq: Int32, col, value: Int32, writer):
        """``TRACE``: ``value`` into word ``col`` of K block ``seq``'s record."""
        if const_expr(TRACE):
            t = self._trace
            if writer:
                if seq < Tr.BLOCKS:
                    t[Tr.HEADER + seq * Tr.REC + col] = value

    @cute.jit
    def _stamp_p(self, state: pipeline.PipelineState, cols, at: int):
        """``TRACE``, producer: the clock into word ``cols[at]`` (``cols``: None or ``TRACE_K_COLS`` /
        ``TRACE_V_COLS``; a None entry: no stamp) of the record of ``state``'s block, by thread 0 of the CTA; for K
        after the empty wait (``at`` 1) and after the last copy (``at`` 3) also by lane 0 of producer warps 1-3
        (where they take part)."""
        if const_expr(TRACE and cols is not None):
            tidx, _, _ = cute.arch.thread_idx()
            if const_expr(cols[at] is not None):
                self._stamp(state.count, cols[at], tidx == 0)
            if const_expr(cols == TRACE_K_COLS and at in (1, 3)):
                w = tidx // WARP_THREADS
                col = (Tr.PKW_GOT if const_expr(at == 1) else Tr.PKW_LAST) - 1 + w
                self._stamp(state.count, col, (tidx % WARP_THREADS == 0) & (w >= 1) & (w < 4))

    @cute.jit
    def _trace_tag(self, state: pipeline.PipelineState, rnd: Int32, n_block: Int32, tidx: Int32):
        """``TRACE``, producer: the work row and key block of ``state``'s K block (thread 0)."""
        if const_expr(TRACE):
            self._put(state.count, Tr.TILE, rnd, tidx == 0)
            self._put(state.count, Tr.NBLK, n_block, tidx == 0)

    @cute.jit
    def _trace_end_p(self, state: pipeline.PipelineState, first: Int32, end: Int32, step: Int32, tidx: Int32):
        """``TRACE``, producer: blocks produced and tiles walked (thread 0, after its last block)."""
        if const_expr(TRACE):
            t = self._trace
            if tidx == 0:
                t[Tr.P_COUNT] = state.count
                t[Tr.ROUNDS] = (end - first + step - 1) // step

    @cute.jit
    def _stamp_c(self, seq: Int32, col: int, wg: Int32, stride: int = 3):
        """``TRACE``, consumers: word ``col + stride * wg`` by thread 0 of warpgroup ``wg``."""
        if const_expr(TRACE):
            tidx, _, _ = cute.arch.thread_idx()
            self._stamp(seq, col + stride * wg, tidx % WARPGROUP_THREADS == 0)

    def _prefetch_kv(self, kv):
        tma_K, _, tma_V, _ = kv
        cpasync.prefetch_descriptor(tma_K)
        cpasync.prefetch_descriptor(tma_V)

    def _kv_pipelines(self, storage):
        """The K and V pipelines (``stages`` each): TMA producer (one arrival with the tile's bytes), one
        elected release per consumer warp. Cluster: the stage's empty barrier counts the consumer warps of both CTAs
        (lane r of each consumer warp arrives on CTA r's barrier: PipelineTmaAsync's multicast signaling), the full
        barrier still the whole box's bytes (both CTAs' halves land in each CTA)."""
        # cluster: with multicast signaling the consumer group is the CTA's consumer threads; the barrier then counts
        # one arrival per consumer warp per CTA of the cluster
        arrivals, cluster = self.consumer_warps, {}
        if const_expr(self.cluster > 1):
            arrivals = self.consumer_threads
            cluster = dict(cta_layout_vmnk=cute.make_layout((1, self.cluster, 1, 1)), enable_multicast_signaling=True)
        return [
            pipeline.PipelineTmaAsync.create(
                barrier_storage=mbar.data_ptr(), num_stages=self.stages,
                producer_group=pipeline.CooperativeGroup(pipeline.Agent.Thread, 1),
                consumer_group=pipeline.CooperativeGroup(pipeline.Agent.Thread, arrivals),
                tx_count=tx, defer_sync=True, **cluster,
            )
            for mbar, tx in ((storage.mbar_k, self.tx_bytes_k), (storage.mbar_v, self.tx_bytes_v))
        ]

    # ------------------------------------------------------------------------------------ producer

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
        """The producer warpgroup (warp 0 works, warps 1-3 exit)."""
        sQ, sK, sV = smem
        pipe_q, pipe_k, pipe_v = pipes
        mCuSeqlensQ, mCuSeqlensK, scheduler, blocks = walk
        if cute.arch.make_warp_uniform(cute.arch.warp_idx()) == 0:
            tma_K, mK, tma_V, mV = kv
            q_per_kv = mQ.shape[2] // mK.shape[2]
            q_state = pipeline.make_pipeline_state(pipeline.PipelineUserType.Producer, 1)
            kv_state = pipeline.make_pipeline_state(pipeline.PipelineUserType.Producer, self.stages)
            first, end, step = scheduler.row_range()
            for rnd in cutlass.range(first, end, step, unroll=1):
                tile, seq, tQgQ, tQsQ = self._producer_tile(walk, rnd, tma_Q, mQ, sQ)
                kv_head = tile.q_head // q_per_kv
                gK = cute.local_tile(seq.request_k(mK)[None, None, kv_head], (self.tile_n, self.head_dim), (None, 0))
                gV = cute.local_tile(seq.request_k(mV)[None, None, kv_head], (self.tile_n, self.head_dim_v), (None, 0))
                if const_expr(self.cluster > 1):
                    # this CTA's part of each box (rank r of the pair), multicast to both CTAs
                    rank = cute.arch.make_warp_uniform(cute.arch.block_idx_in_cluster())
                    ctas = cute.make_layout(self.cluster)
                    tKsK, tKgK = cpasync.tma_partition(tma_K, rank, ctas, cute.group_modes(sK, 0, 2), cute.group_modes(gK, 0, 2))
                    tVsV, tVgV = cpasync.tma_partition(tma_V, rank, ctas, cute.group_modes(sV, 0, 2), cute.group_modes(gV, 0, 2))
                else:
                    one_cta = cute.make_layout(1)
                    tKsK, tKgK = cpasync.tma_partition(tma_K, 0, one_cta, cute.group_modes(sK, 0, 2), cute.group_modes(gK, 0, 2))
                    tVsV, tVgV = cpasync.tma_partition(tma_V, 0, one_cta, cute.group_modes(sV, 0, 2), cute.group_modes(gV, 0, 2))

                n_lo, n_hi = self._key_blocks(seq, tile.m_block, tile.split, blocks)
                if n_hi > n_lo:
                    self._trace_tag(kv_state, rnd, n_hi - 1, tidx)
                    self._load(pipe_k, tma_K, tKgK, tKsK, n_hi - 1, kv_state, TRACE_K_COLS)
                self._load_q(pipe_q, tma_Q, tQgQ, tQsQ, q_state)
                q_state.advance()
                if n_hi > n_lo:
                    # K of block n goes out before V of block n + 1: the consumers need them in that order
                    for i in cutlass.range(n_hi - n_lo - 1, unroll=1):
                        n_block = n_hi - 2 - i
                        v_state = kv_state.clone()
                        kv_state.advance()
                        self._trace_tag(kv_state, rnd, n_block, tidx)
                        self._load(pipe_k, tma_K, tKgK, tKsK, n_block, kv_state, TRACE_K_COLS)
                        self._load(pipe_v, tma_V, tVgV, tVsV, n_block + 1, v_state, TRACE_V_COLS)
                    self._load(pipe_v, tma_V, tVgV, tVsV, n_lo, kv_state, TRACE_V_COLS)
                    kv_state.advance()
            self._trace_end_p(kv_state, first, end, step, tidx)
            if const_expr(self.cluster > 1):
                # every stage released by the consumers of both CTAs: no remote arrive (nor multicast) can target
                # this CTA's shared memory after it exits
                pipe_k.producer_tail(kv_state.clone())
                pipe_v.producer_tail(kv_state.clone())

    def _key_blocks(self, seq, m_block: Int32, split: Int32, blocks):
        """``(n_lo, n_hi)``: the key blocks of a work row, visited from ``n_hi - 1`` down (``split_kv``: its piece's,
        ``split_range`` of the row's split word; otherwise ``(0, n_block_max)``, 0 a constant). The producer and the
        consumers of this kernel and of the paged one walk the same blocks through it."""
        n_hi = blocks.n_block_max(seq, m_block)
        if const_expr(self.split_kv):
            return split_range(split, n_hi)
        return 0, n_hi

    @cute.jit
    def _producer_tile(self, walk: tuple, rnd: Int32, tma_Q, mQ, sQ):
        """The producer's tile of work row ``rnd`` (every role walks the same rows),
        its request bounds and its Q TMA partition ``(tQgQ, tQsQ)``."""
        mCuSeqlensQ, mCuSeqlensK, scheduler, _ = walk
        tile = scheduler.tile(rnd)
        seq = SeqlenInfo.create(tile.batch, mCuSeqlensQ, mCuSeqlensK)
        gQ = cute.local_tile(seq.request_q(mQ)[None, None, tile.q_head], (self.tile_m, self.head_dim), (tile.m_block, 0))
        tQsQ, tQgQ = cpasync.tma_partition(
            tma_Q, 0, cute.make_layout(1), cute.group_modes(sQ, 0, 2), cute.group_modes(gQ, 0, 2)
        )
        return tile, seq, tQgQ, tQsQ

    @cute.jit
    def _load_q(self, pipe_q, tma_Q, tQgQ, tQsQ, q_state):
        pipe_q.producer_acquire(q_state)
        cute.copy(tma_Q, tQgQ, tQsQ, tma_bar_ptr=pipe_q.producer_get_barrier(q_state))

    @cute.jit
    def _load(
        self,
        pipe: pipeline.PipelineAsync,
        atom: cute.CopyAtom,
        tXgX: cute.Tensor,
        tXsX: cute.Tensor,
        n_block: Int32,
        state: pipeline.PipelineState,
        cols: cutlass.Constexpr = None,
    ):
        """One K or V block by TMA (``cols``: the ``TRACE`` build's stamps of this block, see ``_stamp_p``)."""
        self._stamp_p(state, cols, 0)
        pipe.producer_acquire(state)
        self._stamp_p(state, cols, 1)
        self._stamp_p(state, cols, 2)
        if const_expr(self.cluster > 1):
            # K / V only (Q has its own copy in _load_q): this CTA's part of the box into both CTAs
            cute.copy(atom, tXgX[None, n_block], tXsX[None, state.index], tma_bar_ptr=pipe.producer_get_barrier(state),
                      mcast_mask=cutlass.Int16((1 << self.cluster) - 1))
        else:
            cute.copy(atom, tXgX[None, n_block], tXsX[None, state.index], tma_bar_ptr=pipe.producer_get_barrier(state))
        self._stamp_p(state, cols, 3)

    # ------------------------------------------------------------------------------------ consumers

    @cute.jit
    def consume(
        self,
        sQ: cute.Tensor,
        sK: cute.Tensor,
        sV: cute.Tensor,
        sO: cute.Tensor,
        pipe_q: pipeline.PipelineAsync,
        pipe_k: pipeline.PipelineAsync,
        pipe_v: pipeline.PipelineAsync,
        o_out: tuple,
        mLse: cute.Tensor,
        mCuSeqlensQ: cute.Tensor,
        mCuSeqlensK: cute.Tensor,
        scheduler: StaticWorkListScheduler,
        blocks: BlockRange,
        scale_log2: Float32,
        tidx: Int32,
        split_io: tuple = (),  # split_kv: (mPart, mCount, sLast)
    ):
        wg = cute.arch.make_warp_uniform(tidx // WARPGROUP_THREADS)
        tiled_mma_qk, tiled_mma_pv = self._tiled_mmas()
        wg_mma_qk = tiled_mma_qk.get_slice(wg * WARPGROUP_THREADS)
        wg_mma_pv = tiled_mma_pv.get_slice(wg * WARPGROUP_THREADS)
        thr_mma_qk = tiled_mma_qk.get_slice(tidx)
        if const_expr(self.q_rs):
            # Q's A fragment in registers, filled from sQ by ldmatrix at the start of each tile
            tSrQ = wg_mma_qk.make_fragment_A(wg_mma_qk.partition_shape_A((self.tile_m, self.head_dim)))
            s2r_q_atom = cute.make_copy_atom(
                cute.nvgpu.warp.LdMatrix8x8x16bOp(transpose=False, num_matrices=4), self.dtype
            )
            s2r_q = cute.make_tiled_copy_A(s2r_q_atom, tiled_mma_qk).get_slice(tidx)
            tQsQ_r = s2r_q.partition_S(sQ)
            tQrQ_r = s2r_q.retile(tSrQ)
        else:
            tSrQ = wg_mma_qk.make_fragment_A(wg_mma_qk.partition_A(sQ))
        tSrK = wg_mma_qk.make_fragment_B(wg_mma_qk.partition_B(sK))
        sVt = cute.composition(
            sV, cute.make_ordered_layout((self.head_dim_v, self.tile_n, self.stages), order=(1, 0, 2))
        )
        tOrVt = wg_mma_pv.make_fragment_B(wg_mma_pv.partition_B(sVt))
        acc_O = cute.make_rmem_tensor(wg_mma_pv.partition_shape_C((self.tile_m, self.head_dim_v)), Float32)
        tOrP = wg_mma_pv.make_fragment_A(wg_mma_pv.partition_shape_A((self.tile_m, self.tile_n)))
        # second P fragment of the double-buffered unmasked steps (double_p)
        tOrP2 = wg_mma_pv.make_fragment_A(wg_mma_pv.partition_shape_A((self.tile_m, self.tile_n)))
        tScS = thr_mma_qk.partition_C(cute.make_identity_tensor((self.tile_m, self.tile_n)))
        mask = AttentionMask(self.tile_m, self.tile_n, tScS)
        softmax = OnlineSoftmax.create(scale_log2, self.rescale_threshold, self.vote_max, self.max_chains)
        row_scale = cute.make_rmem_tensor((2,), Float32)
        mma = (tiled_mma_qk, tiled_mma_pv, tSrQ, tSrK, tOrVt, acc_O, tOrP, row_scale)

        trim = None
        if const_expr(self.trim_diagonal):
            trim = self._trim_fragments(sK, wg)

        if const_expr(self.pingpong):
            if wg == 0:
                cute.arch.barrier_arrive(barrier_id=int(PrefillBarrier.CONSUMER_WG0), number_of_threads=self.PINGPONG_THREADS)

        q_state = pipeline.make_pipeline_state(pipeline.PipelineUserType.Consumer, 1)
        kv_state = pipeline.make_pipeline_state(pipeline.PipelineUserType.Consumer, self.stages)
        first, end, step = scheduler.row_range()
        # the work row and request bounds of the next tile load at the start of this one (their latency hides
        # under its GEMMs instead of sitting between two tiles)
        nb, nm, nh, ns, noq, nok, nql, nkl = self._fetch_tile(scheduler, mCuSeqlensQ, mCuSeqlensK, first, first, end)
        for rnd in cutlass.range(first, end, step, unroll=1):
            batch, m_block, q_head, split = nb, nm, nh, ns
            seq = SeqlenInfo(noq, nok, nql, nkl)
            nb, nm, nh, ns, noq, nok, nql, nkl = self._fetch_tile(
                scheduler, mCuSeqlensQ, mCuSeqlensK, rnd + 1, first, end
            )
            n_lo, n_block_max = self._key_blocks(seq, m_block, split, blocks)
            acc_O.fill(0.0)
            softmax.reset()
            pipe_q.consumer_wait(q_state)
            if const_expr(self.q_rs):
                # no wgmma is in flight here (the previous tile's last PV was waited for); gemm() fences the
                # register writes before the first S GEMM reads them
                cute.copy(s2r_q_atom, tQsQ_r, tQrQ_r)
                if const_expr(self.separate_o):
                    # this warp's rows of Q are in registers (generic-proxy reads of sQ, ordered before the next
                    # tile's TMA write by the fence and the release): the next tile's Q may land
                    cute.arch.fence_view_async_shared()
                    pipe_q.consumer_release(q_state)
            if n_block_max > n_lo:
                # first visited block: key-length (and causal) mask, no PV yet
                self._stamp_c(kv_state.count, Tr.CK_WAIT, wg)
                pipe_k.consumer_wait(kv_state)
                self._stamp_c(kv_state.count, Tr.CK_GOT, wg)
                acc_S = self._new_acc_S(tiled_mma_qk)
                if const_expr(self.trim_diagonal):
                    # key columns of this block that a row of this warpgroup (rows < q_len) may see
                    row_end = cutlass.min(m_block * self.tile_m + (wg + 1) * 64, seq.q_len)
                    cols = row_end + seq.kv_len - seq.q_len - (n_block_max - 1) * self.tile_n
                    if cols > self.trim_n:
                        self._first_block(
                            tiled_mma_qk, acc_S, tSrQ, tSrK[None, None, None, kv_state.index], tOrP, mask, softmax,
                            seq, m_block, n_block_max - 1,
                        )
                    else:
                        self._first_block_trimmed(
                            trim, acc_S, tSrQ, kv_state.index, tOrP, mask, softmax, seq, m_block, n_block_max - 1,
                            cols > 0,
                        )
                else:
                    self._first_block(
                        tiled_mma_qk, acc_S, tSrQ, tSrK[None, None, None, kv_state.index], tOrP, mask, softmax, seq,
                        m_block, n_block_max - 1,
                    )
                pipe_k.consumer_release(kv_state)
                self._stamp_c(kv_state.count, Tr.CK_REL, wg)
                row_scale.fill(1.0)

                n_masked = Int32(0)
                if const_expr(self.causal):
                    n_masked = cutlass.max(n_block_max - 1 - blocks.n_block_min_causal(seq, m_block), 0)
                for i in cutlass.range(n_masked, unroll=1):
                    kv_state = self._step(
                        mma, pipe_k, pipe_v, kv_state, softmax, mask, seq, m_block, n_block_max - 2 - i, True, wg
                    )
                n_free = n_block_max - n_lo - 1 - n_masked
                odd = False
                if const_expr(self.double_p):
                    # pairs of steps alternate the two P fragments (static indices); an odd count ends with one more
                    # step into tOrP2 (a single-buffer step before the pairs made ptxas serialize every wgmma, C7512)
                    n_pairs = (n_free + 1) // 2
                    for i in cutlass.range(n_pairs, unroll=1):
                        kv_state = self._step_dp(mma, tOrP, tOrP2, i > 0, pipe_k, pipe_v, kv_state, softmax, wg)
                        if 2 * i + 1 < n_free:
                            kv_state = self._step_dp(mma, tOrP2, tOrP, True, pipe_k, pipe_v, kv_state, softmax, wg)
                    odd = n_free % 2 == 1
                    # the last step's PV may be in flight (unconditional wait: ptxas cannot tell the loop's exit from
                    # the no-step path and would serialize every wgmma, C7514)
                    warpgroup.wait_group(0)
                    if n_free > 0:
                        pipe_v.consumer_release(self._prev_stage(kv_state))
                    if odd:
                        tOrP.store(tOrP2.load())
                else:
                    for i in cutlass.range(n_free, unroll=1):
                        kv_state = self._step(
                            mma, pipe_k, pipe_v, kv_state, softmax, mask, seq, m_block,
                            n_block_max - 2 - n_masked - i, False, wg,
                        )
                if const_expr(self.separate_o and not self.q_rs):
                    # every S GEMM of the tile has completed: the next tile's Q may land
                    pipe_q.consumer_release(q_state)
                # last PV
                if const_expr(self.rescale_before_pv):
                    self._rescale_O(acc_O, row_scale)
                self._stamp_c(kv_state.count, Tr.CV_WAIT, wg, 1)
                pipe_v.consumer_wait(kv_state)
                self._stamp_c(kv_state.count, Tr.CV_GOT, wg, 1)
                gemm(tiled_mma_pv, acc_O, tOrP, tOrVt[None, None, None, kv_state.index], False, 0)
                pipe_v.consumer_release(kv_state)
                kv_state.advance()
            else:
                if const_expr(self.separate_o and not self.q_rs):
                    pipe_q.consumer_release(q_state)

            inv_sum, lse = softmax.finalize()
            rescale_rows(acc_O, inv_sum)
            if const_expr(self.split_kv):
                # a piece: its partial out; the last of its group to finish merges the others and stores
                if self._split_partial(acc_O, lse, split, split_io, tiled_mma_pv, tidx):
                    self.epilogue(acc_O, lse, sO, o_out, mLse, seq, m_block, q_head, tiled_mma_pv, tidx)
            else:
                self.epilogue(acc_O, lse, sO, o_out, mLse, seq, m_block, q_head, tiled_mma_pv, tidx)
            if const_expr(not self.separate_o):
                if const_expr(self.tma_store_o):
                    # the TMA store of sO (issued by one lane of the part's first warp, if at all) has read it before
                    # the warp's release (lane 0 arrives): the next Q tile may land
                    cute.arch.cp_async_bulk_wait_group(0, read=True)
                    cute.arch.sync_warp()
                # sO (generic proxy) is read back; the next Q tile is written there by TMA (async proxy)
                cute.arch.fence_view_async_shared()
                pipe_q.consumer_release(q_state)
            q_state.advance()
        if const_expr(self.tma_store_o):
            # the CTA's shared memory must outlive the reads of its last TMA stores
            cute.arch.cp_async_bulk_wait_group(0)
        if const_expr(TRACE):
            t = self._trace
            if tidx == 0:
                t[Tr.C_COUNT] = kv_state.count

    @cute.jit
    def _fetch_tile(self, scheduler, mCuSeqlensQ: cute.Tensor, mCuSeqlensK: cute.Tensor, row: Int32, first: Int32,
                    end: Int32):
        """Work row ``min(row, end - 1)`` of this CTA's rows ``[first, end)`` and its request bounds, as plain scalars
        (loop-carried). An empty range reads a work row that exists (``first`` is past the slot table) and is not run."""
        row = cutlass.min(cutlass.max(cutlass.min(row, end - 1), first), Int32(scheduler.mWork.shape[0]) - 1)
        tile = scheduler.tile(row)
        seq = SeqlenInfo.create(tile.batch, mCuSeqlensQ, mCuSeqlensK)
        split = tile.split if const_expr(self.split_kv) else Int32(0)
        return tile.batch, tile.m_block, tile.q_head, split, seq.offset_q, seq.offset_k, seq.q_len, seq.kv_len

    @cute.jit
    def _rescale_O(self, acc_O: cute.Tensor, row_scale: cute.Tensor):
        if const_expr(self.skip_rescale):
            # each warp owns 16 whole rows: skip when none of them changed its max
            if not cute.arch.vote_all_sync((row_scale[0] == 1.0) & (row_scale[1] == 1.0)):
                rescale_rows(acc_O, row_scale)
        else:
            rescale_rows(acc_O, row_scale)

    @cute.jit
    def _issue_s(self, mma, pipe_k: pipeline.PipelineAsync, k_state: pipeline.PipelineState, wg: Int32):
        """Wait for K of the block at ``k_state``, take the ping-pong turn and issue S = Q K^T (not waited for);
        returns S's accumulator."""
        tiled_mma_qk, tSrQ, tSrK = mma[0], mma[2], mma[3]
        self._stamp_c(k_state.count, Tr.CK_WAIT, wg)
        pipe_k.consumer_wait(k_state)
        self._stamp_c(k_state.count, Tr.CK_GOT, wg)
        self._pingpong_wait(wg)
        # a fresh accumulator each block: the S GEMM must not take the previous S/P registers as inputs
        acc_S = self._new_acc_S(tiled_mma_qk)
        gemm(tiled_mma_qk, acc_S, tSrQ, tSrK[None, None, None, k_state.index], True, -1)
        return acc_S

    @cute.jit
    def _issue_pv(
        self,
        mma,
        p: cute.Tensor,
        pipe_k: pipeline.PipelineAsync,
        pipe_v: pipeline.PipelineAsync,
        k_state: pipeline.PipelineState,
        v_state: pipeline.PipelineState,
        wg: Int32,
    ):
        """Wait for V at ``v_state``, issue O += P V, hand the ping-pong turn over, wait for the S GEMM issued
        before it (the PV stays in flight) and release that block's K stage (``k_state``)."""
        tiled_mma_pv, tOrVt, acc_O = mma[1], mma[4], mma[5]
        self._stamp_c(v_state.count, Tr.CV_WAIT, wg, 1)
        pipe_v.consumer_wait(v_state)
        self._stamp_c(v_state.count, Tr.CV_GOT, wg, 1)
        gemm(tiled_mma_pv, acc_O, p, tOrVt[None, None, None, v_state.index], False, -1)
        self._pingpong_signal(wg)
        warpgroup.wait_group(1)
        pipe_k.consumer_release(k_state)
        self._stamp_c(k_state.count, Tr.CK_REL, wg)

    @cute.jit
    def _step(
        self,
        mma,
        pipe_k: pipeline.PipelineAsync,
        pipe_v: pipeline.PipelineAsync,
        kv_state: pipeline.PipelineState,
        softmax: OnlineSoftmax,
        mask: AttentionMask,
        seq: SeqlenInfo,
        m_block: Int32,
        n_block: Int32,
        causal_mask: cutlass.Constexpr[bool],
        wg: Int32,
    ):
        """One key block with intra-warpgroup overlap: S(j) = Q K(j)^T and O += P(j+1) V(j+1) in flight
        together; softmax(j) runs while O += P V completes. ``row_scale`` (in ``mma``) carries the row
        factor of the last softmax; with ``rescale_before_pv`` O is rescaled by it right before the PV issue
        (FA3 order: nothing after the PV wait touches O), else right after the PV wait."""
        acc_O, tOrP, row_scale = mma[5], mma[6], mma[7]
        v_state = kv_state.clone()
        kv_state.advance()
        acc_S = self._issue_s(mma, pipe_k, kv_state, wg)
        if const_expr(self.rescale_before_pv):
            self._rescale_O(acc_O, row_scale)
        self._issue_pv(mma, tOrP, pipe_k, pipe_v, kv_state, v_state, wg)
        if const_expr(causal_mask):
            mask.apply(acc_S, seq, m_block, n_block, False, True)
        new_scale = softmax.online(acc_S, False)
        for h in cutlass.range_constexpr(2):
            row_scale[h] = new_scale[h]
        warpgroup.wait_group(0)
        pipe_v.consumer_release(v_state)
        if const_expr(not self.rescale_before_pv):
            self._rescale_O(acc_O, row_scale)
        convert_p(acc_S, tOrP)
        return kv_state

    @cute.jit
    def _step_dp(
        self,
        mma,
        p_in: cute.Tensor,
        p_out: cute.Tensor,
        release_prev,
        pipe_k: pipeline.PipelineAsync,
        pipe_v: pipeline.PipelineAsync,
        kv_state: pipeline.PipelineState,
        softmax: OnlineSoftmax,
        wg: Int32,
    ):
        """One unmasked key block with double-buffered P: PV(j+1) reads ``p_in`` while P(j) is converted into
        ``p_out``, so the softmax needs no PV wait. The PV issued by the previous step completes (wait after
        this step's S issue) before O is rescaled; its V stage is released then (``release_prev``: there is
        one, i.e. the previous step was a double-buffered one)."""
        acc_O, row_scale = mma[5], mma[7]
        v_state = kv_state.clone()
        # the previous step's PV (queued behind the other warpgroup's GEMMs, long done by now) has completed
        warpgroup.wait_group(0)
        if release_prev:
            pipe_v.consumer_release(self._prev_stage(v_state))
        kv_state.advance()
        acc_S = self._issue_s(mma, pipe_k, kv_state, wg)
        self._rescale_O(acc_O, row_scale)
        self._issue_pv(mma, p_in, pipe_k, pipe_v, kv_state, v_state, wg)
        new_scale = softmax.online(acc_S, False)
        for h in cutlass.range_constexpr(2):
            row_scale[h] = new_scale[h]
        convert_p(acc_S, p_out)
        return kv_state

    # ------------------------------------------------------------------------------------ trimmed diagonal

    def _trim_fragments(self, sK: cute.Tensor, wg: Int32):
        """trim_diagonal: the S GEMM at N = trim_n (its tiled MMA, RS with ``q_rs``: Q's register fragment has the
        same layout at any N; the K fragment of the first trim_n rows of every K stage) and the views of the first
        trim_n columns of S (the first trim_n / 2 accumulator registers) and of P (the first trim_n / 16 K-blocks
        of the PV A fragment)."""
        tiled = self._qk_tiled_mma(self.trim_n)
        wg_mma = tiled.get_slice(wg * WARPGROUP_THREADS)
        sK_t = cute.local_tile(sK, (self.trim_n, self.head_dim, self.stages), (0, 0, 0))
        tSrK_t = wg_mma.make_fragment_B(wg_mma.partition_B(sK_t))
        acc_shape = tiled.partition_shape_C((self.tile_m, self.trim_n))
        return tiled, tSrK_t, acc_shape

    @cute.jit
    def _first_block(self, tiled_mma_qk, acc_S, tSrQ, tSrK_s, tOrP, mask, softmax, seq, m_block, n_block):
        """The first visited key block: S (waited for), key-length / causal mask, softmax, P."""
        gemm(tiled_mma_qk, acc_S, tSrQ, tSrK_s, True, 0)
        mask.apply(acc_S, seq, m_block, n_block, True, self.causal)
        softmax.online(acc_S, True)
        convert_p(acc_S, tOrP)

    @cute.jit
    def _first_block_trimmed(self, trim, acc_S, tSrQ, stage, tOrP, mask, softmax, seq, m_block, n_block, any_col):
        """The first visited key block of a warpgroup whose rows see at most ``trim_n`` of its columns: S GEMM
        at N = trim_n into the first registers of ``acc_S``, mask, softmax and P over those columns, the rest of
        P zero; ``any_col`` false (no column visible): no GEMM, P = 0 (the softmax state stays reset)."""
        tiled, tSrK_t, acc_shape = trim
        p32 = cute.recast_tensor(tOrP, Int32)
        n_half = self.trim_n // 4  # 32-bit registers of P over the first trim_n columns
        if any_col:
            acc_t = cute.make_rmem_tensor(acc_shape, Float32)
            gemm(tiled, acc_t, tSrQ, tSrK_t[None, None, None, stage], True, 0)
            mask.apply(acc_t, seq, m_block, n_block, True, True)
            softmax.online(acc_t, True)
            p_t = cute.make_tensor(tOrP.iterator, cute.make_layout(
                (tOrP.shape[0], tOrP.shape[1], self.trim_n // 16)))
            convert_p(acc_t, p_t)
        else:
            for i in cutlass.range_constexpr(n_half):
                p32[i] = Int32(0)
        for i in cutlass.range_constexpr(n_half, cute.size(p32)):
            p32[i] = Int32(0)

    def _prev_stage(self, state: pipeline.PipelineState) -> pipeline.PipelineState:
        """The stage before ``state`` (only its index is read: for a consumer release)."""
        stages = state.stages
        return pipeline.PipelineState(stages, state.count, (state.index + stages - 1) % stages, state.phase)

    def _new_acc_S(self, tiled_mma_qk: cute.TiledMma) -> cute.Tensor:
        return cute.make_rmem_tensor(tiled_mma_qk.partition_shape_C((self.tile_m, self.tile_n)), Float32)

    # Ping-pong barrier of warpgroup i: its own sync (128 threads) + the arrive of the warpgroup before it in
    # the round (128), so 2 warpgroups' worth of threads whatever the number of consumer warpgroups.
    PINGPONG_THREADS = 2 * WARPGROUP_THREADS

    def _pingpong_wait(self, wg: Int32):
        if const_expr(self.pingpong):
            cute.arch.barrier(barrier_id=int(PrefillBarrier.CONSUMER_WG0) + wg, number_of_threads=self.PINGPONG_THREADS)

    def _pingpong_signal(self, wg: Int32):
        if const_expr(self.pingpong):
            nxt = 1 - wg if const_expr(self.consumer_wgs == 2) else (wg + 1) % self.consumer_wgs
            cute.arch.barrier_arrive(
                barrier_id=int(PrefillBarrier.CONSUMER_WG0) + nxt, number_of_threads=self.PINGPONG_THREADS
            )

    # ------------------------------------------------------------------------------------ split_kv

    @cute.jit
    def _split_partial(
        self,
        acc_O: cute.Tensor,
        lse: cute.Tensor,
        split: Int32,
        split_io: tuple,
        tiled_mma_pv: cute.TiledMma,
        tidx: Int32,
    ):
        """Whether this warpgroup stores its rows of the tile now. A whole tile (``split`` 0): yes. A piece
        (tile_scheduler's ``SPLIT`` word): its normalized O and LSE rows go to the piece's rows of ``mPart``, then the
        warpgroup counts itself done on ``mCount[group * 4 + wg]`` (barrier, one acq_rel atomic, barrier: the decode
        kernel's pattern); the last piece of the group to finish merges all pieces' rows into ``acc_O`` / ``lse``, resets
        the count for the next launch and stores (True); the others are done (False)."""
        mPart, mCount, sLast = split_io
        pieces = split & 15
        last = pieces == 0
        if pieces > 0:
            wg = cute.arch.make_warp_uniform(tidx // WARPGROUP_THREADS)
            ptid = tidx % WARPGROUP_THREADS
            piece = (split >> 4) & 15
            group = split >> 8
            dv = self.head_dim_v
            tOcO = tiled_mma_pv.get_slice(tidx).partition_C(cute.make_identity_tensor((self.tile_m, dv)))
            base = (group * pieces + piece) * self.tile_m
            for k in cutlass.range_constexpr(cute.size(acc_O)):
                mPart[base + tOcO[k][0], tOcO[k][1]] = acc_O[k]
            if tOcO[0][1] == 0:
                for h in cutlass.range_constexpr(2):
                    mPart[base + tOcO[2 * h][0], dv] = lse[h]
            bar_id = int(PrefillBarrier.EPILOGUE_WG0) + wg
            cute.arch.barrier(barrier_id=bar_id, number_of_threads=WARPGROUP_THREADS)
            counter = group * 4 + wg
            if ptid == 0:
                old = cute.arch.atomic_add(mCount.iterator + counter, Int32(1), sem="acq_rel", scope="gpu")
                sLast[wg] = Int32(1) if old == pieces - 1 else Int32(0)
            cute.arch.barrier(barrier_id=bar_id, number_of_threads=WARPGROUP_THREADS)
            last = sLast[wg] != 0
            if last:
                self._split_merge(acc_O, lse, mPart, group * pieces * self.tile_m, pieces, tOcO)
                if ptid == 0:
                    mCount[counter] = Int32(0)
        return last

    @cute.jit
    def _split_merge(
        self,
        acc_O: cute.Tensor,
        lse: cute.Tensor,
        mPart: cute.Tensor,
        base0: Int32,
        pieces: Int32,
        tOcO: cute.Tensor,
    ):
        """``acc_O`` and ``lse`` (natural log) become the group's, from the pieces' rows of ``mPart`` (``base0 + j *
        tile_m + row``; this piece's own rows were written by these threads): with L = ln sum_j e^lse_j,
        O = sum_j e^(lse_j - L) O_j, summed in piece order whichever piece merges (the result does not depend on
        which one finished last)."""
        dv = self.head_dim_v
        row_max = cute.make_rmem_tensor((2,), Float32)
        inv_total = cute.make_rmem_tensor((2,), Float32)
        weight = cute.make_rmem_tensor((2,), Float32)
        for h in cutlass.range_constexpr(2):
            r = base0 + tOcO[2 * h][0]
            m = -Float32.inf
            for j in cutlass.range(pieces, unroll=1):
                m = cute.arch.fmax(m, mPart[r + j * self.tile_m, dv])
            total = Float32(0.0)
            for j in cutlass.range(pieces, unroll=1):
                total = total + cute.math.exp2((mPart[r + j * self.tile_m, dv] - m) * LOG2_E, fastmath=True)
            row_max[h] = m
            inv_total[h] = 1.0 / total
            lse[h] = m + cute.math.log2(total, fastmath=False) * LN_2
        acc_O.fill(0.0)
        for j in cutlass.range(pieces, unroll=1):
            rows = base0 + j * self.tile_m
            for h in cutlass.range_constexpr(2):
                lse_j = mPart[rows + tOcO[2 * h][0], dv]
                weight[h] = cute.math.exp2((lse_j - row_max[h]) * LOG2_E, fastmath=True) * inv_total[h]
            for k in cutlass.range_constexpr(cute.size(acc_O)):
                acc_O[k] = acc_O[k] + weight[(k // 2) % 2] * mPart[rows + tOcO[k][0], tOcO[k][1]]

    # ------------------------------------------------------------------------------------ epilogue

    def _epilogue_part(self) -> tuple[bool, int]:
        """``(per_wg, rows)``: whether each consumer warpgroup stores its own 64 rows of sO (``wg_epilogue``, with
        its own sO or without ping-pong) or all warpgroups the whole tile together, and the rows of one part.
        Measured pairings (runs 5-7): separate sO + per-WG, aliased + ping-pong + whole tile (v2), aliased
        without ping-pong (hd256) + per-WG; the mixed ones were 8-15 % slower."""
        per_wg = self.wg_epilogue and (self.separate_o or not self.pingpong)
        return per_wg, 64 if per_wg else self.tile_m

    @cute.jit
    def epilogue(
        self,
        acc_O: cute.Tensor,
        lse: cute.Tensor,
        sO: cute.Tensor,
        o_out: tuple,
        mLse: cute.Tensor,
        seq: SeqlenInfo,
        m_block: Int32,
        q_head: Int32,
        tiled_mma_pv: cute.TiledMma,
        tidx: Int32,
    ):
        """O (normalized) -> sO (stmatrix) -> global memory, per part (``_epilogue_part``): a part whose rows all lie
        inside the request by one TMA store (``tma_store_o``), else (or without it) by predicated 16-byte stores
        of the rows < q_len read back from sO; LSE (ln) from registers.

        TMA order: stmatrix (generic proxy) -> ``fence.proxy.async.shared::cta`` -> barrier of the part's threads ->
        the part's thread 0 issues the store and commits its bulk group -> that thread waits for the group's reads
        (``cp.async.bulk.wait_group.read 0``) before the part's next sO write: at the top of the next epilogue,
        before its first barrier (own sO), or before its warp releases Q (sO aliases sQ)."""
        mO = o_out[0]
        rO = cute.make_rmem_tensor_like(acc_O, self.dtype)
        rO.store(acc_O.load().to(self.dtype))
        rows_left = seq.q_len - m_block * self.tile_m

        # LSE: the quad's first thread writes its two rows
        tOcO = tiled_mma_pv.get_slice(tidx).partition_C(cute.make_identity_tensor((self.tile_m, self.head_dim_v)))
        if tOcO[0][1] == 0:
            for h in cutlass.range_constexpr(2):
                r = tOcO[2 * h][0]
                if r < rows_left:
                    mLse[q_head, seq.offset_q + m_block * self.tile_m + r] = lse[h]

        # per_wg: each warpgroup stores and reads back only its own 64 rows of sO, so the barriers are per
        # warpgroup (no cross-warpgroup sync in the epilogue). The first barrier: the previous read-back of sO
        # (or TMA store's read of it) is done. Where sO aliases sQ, every warpgroup's S GEMMs (reading all of sQ)
        # must have completed first: a barrier of all consumer warpgroups.
        per_wg, rows = self._epilogue_part()
        wg = cute.arch.make_warp_uniform(tidx // WARPGROUP_THREADS)
        if const_expr(per_wg):
            bar_id, bar_threads, ptid = int(PrefillBarrier.EPILOGUE_WG0) + wg, WARPGROUP_THREADS, tidx % WARPGROUP_THREADS
        else:
            bar_id, bar_threads, ptid = int(PrefillBarrier.EPILOGUE), self.consumer_threads, tidx
        part_rows_left = rows_left - wg * 64 if const_expr(per_wg) else rows_left
        if const_expr(self.separate_o):
            if const_expr(self.tma_store_o):
                # the previous tile's TMA store from this part of sO has read it (no-op on the other threads)
                cute.arch.cp_async_bulk_wait_group(0, read=True)
            cute.arch.barrier(barrier_id=bar_id, number_of_threads=bar_threads)
        else:
            cute.arch.barrier(barrier_id=int(PrefillBarrier.EPILOGUE), number_of_threads=self.consumer_threads)
        r2s_atom = cute.make_copy_atom(cute.nvgpu.warp.StMatrix8x8x16bOp(transpose=False, num_matrices=4), self.dtype)
        r2s = cute.make_tiled_copy_C(r2s_atom, tiled_mma_pv).get_slice(tidx)
        cute.copy(r2s_atom, r2s.retile(rO), r2s.partition_D(sO))

        part = (rows, self.head_dim_v)
        part_idx = (wg, 0) if const_expr(per_wg) else (0, 0)
        sO_part = cute.local_tile(sO, part, part_idx)
        # warp-uniform: the whole part lies inside the request
        full = part_rows_left >= rows
        if const_expr(self.tma_store_o):
            if full:
                # stmatrix writes (generic proxy) become visible to the TMA unit (async proxy)
                cute.arch.fence_proxy("async.shared", space="cta")
        cute.arch.barrier(barrier_id=bar_id, number_of_threads=bar_threads)

        if const_expr(self.tma_store_o):
            if full:
                tma_O, gmem_O = o_out[1], o_out[2]
                gO_tile = cute.local_tile(
                    seq.request_q(gmem_O)[None, None, q_head], (self.tile_m, self.head_dim_v), (m_block, 0)
                )
                gO_tma = cute.local_tile(gO_tile, part, part_idx)
                tOsO_t, tOgO_t = cpasync.tma_partition(
                    tma_O, 0, cute.make_layout(1), cute.group_modes(sO_part, 0, 2), cute.group_modes(gO_tma, 0, 2)
                )
                # one thread: the DSL (4.8.1) elects a lane for TMA loads, not for this store (PTX: no elect.sync)
                if ptid == 0:
                    cute.copy(tma_O, tOsO_t, tOgO_t)
                    cute.arch.cp_async_bulk_commit_group()
            else:
                self._store_part_predicated(
                    sO_part, mO, seq, m_block, q_head, part, part_idx, part_rows_left, bar_threads, ptid
                )
        else:
            self._store_part_predicated(
                sO_part, mO, seq, m_block, q_head, part, part_idx, part_rows_left, bar_threads, ptid
            )

    @cute.jit
    def _store_part_predicated(
        self,
        sO_part: cute.Tensor,
        mO: cute.Tensor,
        seq: SeqlenInfo,
        m_block: Int32,
        q_head: Int32,
        part: cutlass.Constexpr,
        part_idx,
        part_rows_left: Int32,
        bar_threads: cutlass.Constexpr[int],
        ptid: Int32,
    ):
        """sO part -> registers -> 16-byte global stores of its rows < ``part_rows_left`` (the part's threads)."""
        vec = COPY_BITS // self.dtype.width
        cols = self.head_dim_v // vec
        s2g_atom = cute.make_copy_atom(cute.nvgpu.CopyUniversalOp(), self.dtype, num_bits_per_copy=COPY_BITS)
        s2g = cute.make_tiled_copy_tv(
            s2g_atom,
            cute.make_ordered_layout((bar_threads // cols, cols), order=(1, 0)),
            cute.make_layout((1, vec)),
        ).get_slice(ptid)
        gO = cute.local_tile(seq.request_q(mO)[None, None, q_head], (self.tile_m, self.head_dim_v), (m_block, 0))
        tOsO = s2g.partition_S(sO_part)
        tOgO = s2g.partition_D(cute.local_tile(gO, part, part_idx))
        tOcO_g = s2g.partition_S(cute.make_identity_tensor(part))
        tOrO = cute.make_rmem_tensor_like(tOsO, self.dtype)
        cute.autovec_copy(tOsO, tOrO)
        for m in cutlass.range_constexpr(cute.size(tOrO.shape[1])):
            if tOcO_g[0, m, 0][0] < part_rows_left:
                cute.copy(s2g_atom, tOrO[None, m, None], tOgO[None, m, None])


def compile_prefill(spec):
    """Compile one prefill variant for sm_90a with symbolic sizes and strides (no GPU needed)."""
    dtype = DTYPES[spec.dtype]
    d, dv = spec.head_dim, spec.head_dim_v
    op = PrefillSm90(spec.dtype, d, dv, bool(spec.causal), spec.tile_m)
    sym = cute.sym_int
    fake = cute.runtime.make_fake_tensor

    def s64():
        return cute.sym_int64(divisibility=8)

    total_q, total_k, h_q, h_k = sym(), sym(), sym(), sym()
    q = fake(dtype, (total_q, h_q, d), stride=(s64(), s64(), 1), assumed_align=16)
    k = fake(dtype, (total_k, h_k, d), stride=(s64(), s64(), 1), assumed_align=16)
    v = fake(dtype, (total_k, h_k, dv), stride=(s64(), s64(), 1), assumed_align=16)
    o = fake(dtype, (total_q, h_q, dv), stride=(s64(), s64(), 1), assumed_align=16)
    lse = fake(Float32, (h_q, total_q), stride=(cute.sym_int64(), 1), assumed_align=4)
    batch_plus_1 = sym()
    cu_q = cute.runtime.make_fake_compact_tensor(Int32, (batch_plus_1,), assumed_align=4)
    cu_k = cute.runtime.make_fake_compact_tensor(Int32, (batch_plus_1,), assumed_align=4)
    work = cute.runtime.make_fake_compact_tensor(Int32, (sym(), 4), stride_order=(1, 0), assumed_align=16)
    part = cute.runtime.make_fake_compact_tensor(Float32, (sym(), dv + 1), stride_order=(1, 0), assumed_align=4)
    count = cute.runtime.make_fake_compact_tensor(Int32, (sym(),), assumed_align=4)
    stream = cute.runtime.make_fake_stream(use_tvm_ffi_env_stream=True)
    return cute.compile(
        op, q, k, v, o, lse, cu_q, cu_k, work, part, count, Int32(1), Float32(1.0), stream,
        options="--enable-tvm-ffi --gpu-arch sm_90a",
    )
