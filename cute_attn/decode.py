"""Batch decode (one query token per request) over a paged KV cache, on Hopper.

q is ``(batch, num_qo_heads, head_dim)``; the cache is described by a CSR page table (see
``cute_attn.page``), layout ``"NHD"`` or ``"HND"``, any page size including 1. ``head_dim`` in
``(64, 128, 256)``, bf16 or fp16. GQA/MQA: query head ``h`` reads kv head ``h // (num_qo_heads //
num_kv_heads)``. The LSE returned is the natural-log log-sum-exp of the scaled scores; a request with
no KV row gets output 0 and LSE ``-inf``.

``plan()`` is host work: it validates the page table (when given as CPU tensors) and splits the KV of
every (request, kv head) into work items so that each SM reads near-equal bytes, also for skewed
batches (``plan_decode_work``). A (request, kv head) whose KV is cut in several parts is merged
inside the same kernel by the last part to finish, so ``run()`` is one launch. A schedule that would give every CTA
k > 1 whole sequences runs them as k / H items of H kv heads each (``layouts/decode_work.py`` ITEM_HEADS; head_dim 64
and 128; ``MAX_ITEM_HEADS = 1`` turns it off). In CUDA-graph mode the captured kernel is the variant that reads each
item's kv head count at run time (``dyn_heads``), so one capture serves replans of either kind (``GRAPH_ITEM_HEADS``).
"""

from __future__ import annotations

import ctypes
import dataclasses
import math
import os
import struct

import numpy as np
import torch

from . import _checks as C
from . import hostlib
from .artifacts import get_kernel
from .layouts.decode_work import (
    DECODE_TILES, FIRST_IDS_CAP, HEADS_LOG2_MASK, ITEM_HEADS, ITEM_HEADS_HEAD_DIMS, ITEM_LAG_BIT, ITEM_WIDTH, MAX_ROWS,
    SORT_PAGES_CHUNK, Item,
)
from .page import KV_LAYOUTS, check_paged_cache, unpack_paged_kv_cache
from .specs import DECODE_HEAD_DIMS, DECODE_ONE_ITEM_STAGES, DecodeSpec, SortPagesSpec

DEFAULT_NUM_SMS = 132  # H100 SXM; used when planning for a non-CUDA device
# Fixed cost of one work item (Q load, epilogue), in bytes of KV it could have read meanwhile.
ITEM_OVERHEAD_BYTES = 32 << 10
# No CTA is given less than this many KV rows of work when splitting a sequence would be needed.
MIN_ROWS_PER_CTA = 256
# A split piece is never shorter than this; shorter remainders join their neighbour.
MIN_PIECE_ROWS = 64
# A CTA boundary closer than this fraction of a CTA's share to a sequence end moves there (no split).
SNAP_FRACTION = 0.03
# A plan that fills every SM may use up to num_sms // CTA_SLACK_DIV fewer CTAs when that leaves fewer
# sequences cut at an unsnapped place: equal-length batches then run whole sequences (or equal parts) per
# CTA instead of odd splits and their merges (a 128-CTA schedule of whole sequences read +2-3 % over 132
# CTAs with splits at 64x4k and 128x1k, decode-v10). The fewest cuts wins, ties to the most CTAs. 0: off.
CTA_SLACK_DIV = 20
# Head-minor CTA order: when a plan has no split and every CTA runs the same number k > 1 of whole
# sequences, and the CTAs fall in groups of S (sequences per request) that together hold k whole requests,
# CTA s of a group runs sequence s of each of its k requests (instead of k adjacent sequences): the S kv
# heads of a page are then read by S CTAs in the same window (decode-v10's hand-made schedules: +1 % at
# 64x4k). Each CTA of a group gets one sequence of every request: no less balanced. Applied from this page
# size up (decode-v11: page 16 +0.9-1.1 % at 32x8k / 64x4k / 128x1k; page 1 +0.1 / +0.4 / -1.2 %; session 13,
# with sorted pages: page 16 +0.5-1.4 % over request-major at 64x4k / 128x1k, page 1 -0.3..-1.6 %); 0: off.
HEAD_MINOR_MIN_PAGE = 16
# Head dims whose head-minor order starts at a smaller page size: hd64's 128-byte row pieces (a page-1 token row of K
# is 8 heads x 128 B) read 2.1-2.9 % faster at page 1 when the 8 kv heads' CTAs read them together (session 20 call
# 12, 64 x 4k / 128 x 1k, both flushes), where hd128's 256-byte pieces lose 0.2-1.7 % (session 13 call 7).
HEAD_MINOR_MIN_PAGE_BY_HEAD_DIM = {64: 1}


def head_minor_min_page(head_dim: int) -> int:
    """The page size from which plans of ``head_dim`` take the head-minor CTA order; 0: never (``HEAD_MINOR_MIN_PAGE``
    = 0 turns it off for every head dim, and a smaller ``HEAD_MINOR_MIN_PAGE`` lowers it for all)."""
    if HEAD_MINOR_MIN_PAGE <= 0:
        return 0
    return min(HEAD_MINOR_MIN_PAGE, HEAD_MINOR_MIN_PAGE_BY_HEAD_DIM.get(head_dim, HEAD_MINOR_MIN_PAGE))
# Planner knob (decode-fix; 0 = off, the default): > 0 caps the CTAs at MAX_PARTS x the sequences of the batch,
# so an equal-length batch splits each sequence into at most MAX_PARTS parts (1 x 32k, 8 kv heads: MAX_PARTS=8 ->
# 64 CTAs of 8-part splits instead of 128 CTAs of 16-part splits), and the merge reads fewer partials. H100
# (session 6, one process): 1 x 32k MAX_PARTS=8 -6..-12 %, 12 -0.3..-1.6 %; other cases unchanged (same plan).
# Set it with set_max_parts(), which sets the compiled planner's copy too.
MAX_PARTS = 0
# Items of H kv heads (layouts/decode_work.py ITEM_HEADS, session 23): the largest H a plan may use (1: off). plan() reads
# it per call and gives it to either planner (CUDA-graph mode: only when it captures the dyn_heads variant, else 1).
MAX_ITEM_HEADS = max(ITEM_HEADS)
# Items of H kv heads in plans of mixed lengths (session 24): where the uniform rule above does not apply, each CTA's runs
# of H whole sequences of one request with kv heads h .. h + H - 1 (h a multiple of H) become one item each
# (:func:`_merge_head_runs`), the other items unchanged; such a plan runs the run-time-H variant (``dyn_heads``, head
# dims ITEM_HEADS_HEAD_DIMS). Read per plan(), by both planners. Off: measured on the H100 (session 24 call 5, one
# process, read flush, x the same plans with one head per item on the default variant): skewed 1 x 32k + 63 x 512
# -0.5 / +0.2 %, 256 x 1..8k -0.3 / +0.4 %, 128 x 200..2000 -0.9 / -0.2 %, 64 x 1..16k +0.8 / +0.2 % (page 1 / 16), i.e.
# nothing over the run-time-H variant's own -0.1..-0.5 % on those plans although it cut the items per CTA 2-3.6x
# (bench/NOTES-decode.md, session 24). An A/B knob: True makes these plans.
MIXED_ITEM_HEADS = False
# CUDA-graph mode (session 24): for head dims with items of several kv heads (ITEM_HEADS_HEAD_DIMS) the wrapper captures
# the ``dyn_heads`` variant (H from each item's row at run time, at the head dim's default stages), whose one launch
# serves plans of one kv head per item and of H; its plans then use items of H heads as eager ones do. False: the
# default variant and one kv head per item (sessions 6-23). Read at every plan(); a wrapper keeps the variant of its
# first plan (a later plan with another one raises, as for any change of the captured geometry).
GRAPH_ITEM_HEADS = True
# CUDA-graph mode (session 25): a plan in which every CTA runs one item (uniform batches, splits of one long request)
# marks its items (Item.HEADS_LOG2 bit ITEM_LAG_BIT) so the captured 4-stage run-time-H variant keeps 3 stages in flight,
# as eager runs those plans on the 3-stage one-item variants (DECODE_ONE_ITEM_STAGES); plans of several items per CTA
# keep all 4. H100, one process each, bf16 hd128, graph replays x the previous captured kernel (bench/NOTES-decode.md,
# session 25 calls 4-5): the five uniform batches +0.1..+2.0 % (mean +0.9 / +1.2 %; 1 x 32k +0.7..+2.0 %), the skewed and
# mixed batches (unmarked plans) the same launches as before. False: no mark.
GRAPH_ONE_ITEM_LAG = True
# The head dims whose graph-mode plans are marked: every head dim with a run-time-H variant (ITEM_HEADS_HEAD_DIMS; an A/B
# knob, bench.decode_graph_ab --lag-head-dims). hd64 (session 25 call 7, one process, marked x unmarked, the same
# kernel): the five uniform batches -0.2..+2.1 %, mean +1.1 %.
GRAPH_ONE_ITEM_LAG_HEAD_DIMS = ITEM_HEADS_HEAD_DIMS
LOG2E = 1.0 / math.log(2.0)
# Launch ABI of the decode artifacts (build switch of kernels/decode_sm90.py, NOT measured on a GPU yet): with
# CUTE_ATTN_DECODE_PTR_ARGS=1 when they were built, the plan's six buffers go to the kernel as addresses and two
# Int32 extents (5 tensors through DLPack per launch instead of 11). Set it alike for the build and for run():
# a mismatch fails the first launch with the FFI's type error (argument #3: pointer vs tensor).
_PTR_ARGS = os.environ.get("CUTE_ATTN_DECODE_PTR_ARGS", "0") == "1"
# torch.cuda.current_device() without its lazy-init check (run() has a CUDA tensor in hand, so CUDA is up):
# ~0.3 us less per run() on a GPU host; the public call where torch lacks the raw one
_current_device = getattr(torch._C, "_cuda_getDevice", None) or (lambda: torch.cuda.current_device())
# Each split's partial LSEs start on their own 128-byte line: the merging CTA never holds a line that
# another split's parts write (no stale L1 data, whatever the fence does to L1).
TMP_ALIGN_ROWS = 32


@dataclasses.dataclass
class DecodeWork:
    """Host-side schedule. ``items`` ``(num_items, ITEM_WIDTH)`` int32, grouped by CTA;
    ``cta_ptr`` ``(num_ctas + 1,)``: CTA ``c`` runs items ``cta_ptr[c]:cta_ptr[c+1]``."""

    items: np.ndarray
    cta_ptr: np.ndarray
    num_splits: int
    tmp_rows: int
    # items of several kv heads among others (the mixed pass, _merge_head_runs): the plan needs the run-time-H variant
    mixed_heads: bool = False

    @property
    def num_ctas(self) -> int:
        return len(self.cta_ptr) - 1


_SM_COUNT: dict = {}


def _num_sms(device: torch.device) -> int:
    n = _SM_COUNT.get(device)
    if n is None:
        C.cuda_available(device)
        n = _SM_COUNT[device] = torch.cuda.get_device_properties(device).multi_processor_count
    return n


def head_blocks(group: int) -> list[tuple[int, int]]:
    """(first head offset, rows) of each M tile holding the query heads of one kv head."""
    return [(h, min(MAX_ROWS, group - h)) for h in range(0, group, MAX_ROWS)]


_TEMPLATES: dict = {}


def _template(num_qo_heads: int, num_kv_heads: int) -> tuple[np.ndarray, np.ndarray]:
    """The item row of every (kv head, head block) of one unsplit request, less its per-request
    columns, and each one's rows; cached per head geometry."""
    key = (num_qo_heads, num_kv_heads)
    t = _TEMPLATES.get(key)
    if t is None:
        group = num_qo_heads // num_kv_heads
        blocks = head_blocks(group)
        rows = []
        for hk in range(num_kv_heads):
            for h, r in blocks:
                row = [0] * ITEM_WIDTH
                row[Item.KV_HEAD], row[Item.HEAD0], row[Item.ROWS], row[Item.MERGE_ID] = hk, hk * group + h, r, -1
                rows.append(row)
        t = _TEMPLATES[key] = (np.array(rows, dtype=np.int32), np.array([r for _, r in blocks] * num_kv_heads, np.int64))
    return t


def _locate_cuts(total, num_ctas, req_end, seq_cost, kv_lens, S):
    """The ``num_ctas - 1`` equal cuts of the byte stream: ``(share, bounds, r, i, lo, inside)`` with each
    cut's request ``r``, sequence ``i`` of it and that sequence's start ``lo``; a cut close to a sequence end
    moves there (``bounds``), ``inside`` marks the cuts left strictly inside a nonempty sequence."""
    share = total / num_ctas
    bounds = np.arange(1, num_ctas, dtype=np.float64) * share
    # request r of each cut (the first whose end >= the cut) and the first of its sequences i whose
    # end >= the cut (the float estimate corrected against exact integer ends)
    r = np.searchsorted(req_end, bounds)
    c = seq_cost[r]
    rs = req_end[r] - c * S
    i = np.clip(np.ceil((bounds - rs) / c).astype(np.int64) - 1, 0, S - 1)
    hi = rs + c * (i + 1)
    i += (hi < bounds) & (i < S - 1)
    i -= (hi - c >= bounds) & (i > 0)
    hi = rs + c * (i + 1)
    lo = hi - c
    # snap a cut to the nearer of the two sequence ends around it when it is close
    near = np.where(bounds - lo <= hi - bounds, lo, hi)
    snapped = np.abs(near - bounds) <= SNAP_FRACTION * share
    bounds = np.where(snapped, near, bounds)
    inside = ~snapped & (kv_lens[r] > 0)  # an unsnapped cut lies strictly inside sequence (r, i)
    return share, bounds, r, i, lo, inside


def _item_heads_rule(k: int, num_qo_heads: int, num_kv_heads: int, head_dim: int, max_item_heads: int) -> int:
    """kv heads per item of a plan whose CTAs each run k whole sequences in stream order: the largest H of
    ``ITEM_HEADS`` up to ``max_item_heads`` dividing k and num_kv_heads with H x group <= ``MAX_ROWS``; 1 when none."""
    group = num_qo_heads // num_kv_heads
    if k < 2 or head_dim not in ITEM_HEADS_HEAD_DIMS or group > MAX_ROWS:
        return 1
    for h in ITEM_HEADS:
        if h <= max_item_heads and k % h == 0 and num_kv_heads % h == 0 and h * group <= MAX_ROWS:
            return h
    return 1


def _with_item_heads(base, cta_ptr, h: int) -> DecodeWork:
    """The no-split schedule ``base`` (stream order, every CTA k whole sequences) with runs of ``h`` stream-adjacent
    sequences (one request's kv heads h j .. h j + h - 1, on one CTA: h divides k and the kv heads, by
    :func:`_item_heads_rule`) as one item each; unchanged when h is 1. A run's first row is the item's row (its kv
    head, first query head, request fields) with h times the query rows."""
    if h == 1:
        return DecodeWork(base, cta_ptr, 0, 0)
    items = base[::h].copy()
    items[:, Item.ROWS] *= h
    items[:, Item.HEADS_LOG2] = h.bit_length() - 1
    return DecodeWork(items, (cta_ptr // h).astype(np.int32), 0, 0)


def _merge_head_runs(work: DecodeWork, group: int, head_dim: int, max_item_heads: int) -> DecodeWork:
    """The mixed pass (``MIXED_ITEM_HEADS``): in each CTA's item range, every run of H items that are whole sequences (no
    split part) of one request with kv heads h .. h + H - 1 (h a multiple of H; H of ``ITEM_HEADS`` up to
    ``max_item_heads``, H x group <= ``MAX_ROWS``) becomes one item (its first row with H x the rows), the largest H
    first; ``work`` unchanged when none does. ``cute_attn/csrc/decode_plan.cpp`` merge_head_runs is its twin."""
    items, cta_ptr = work.items, work.cta_ptr
    n = items.shape[0]
    if n < 2 or max_item_heads < 2 or head_dim not in ITEM_HEADS_HEAD_DIMS or group > MAX_ROWS:
        return work
    num_ctas = len(cta_ptr) - 1
    cta = np.repeat(np.arange(num_ctas), np.diff(cta_ptr))
    whole = (items[:, Item.NUM_PARTS] == 0) & (items[:, Item.HEADS_LOG2] == 0)  # may join a run
    free = whole.copy()
    kvh, bat = items[:, Item.KV_HEAD], items[:, Item.BATCH]
    run_h = np.zeros(n, np.int64)
    for h in ITEM_HEADS:  # aligned runs nest: a larger run taken first, its members then not free
        if h > max_item_heads or h * group > MAX_ROWS or n < h:
            continue
        m = n - h + 1
        ok = free[:m] & (kvh[:m] % h == 0)
        for j in range(1, h):
            ok &= free[j:j + m] & (bat[j:j + m] == bat[:m]) & (kvh[j:j + m] == kvh[:m] + j) & (cta[j:j + m] == cta[:m])
        starts = np.flatnonzero(ok)
        if len(starts):
            run_h[starts] = h
            free[(starts[:, None] + np.arange(h)).ravel()] = False
    if not run_h.any():
        return work
    keep = ~(whole & ~free & (run_h == 0))  # drop a run's rows after its first
    out = items[keep].copy()
    hk = run_h[keep]
    at = hk > 0
    out[at, Item.ROWS] *= hk[at].astype(np.int32)
    out[at, Item.HEADS_LOG2] = np.log2(hk[at]).astype(np.int32)
    new_ptr = np.zeros(num_ctas + 1, np.int32)
    np.cumsum(np.bincount(cta[keep], minlength=num_ctas), out=new_ptr[1:])
    return DecodeWork(out, new_ptr, work.num_splits, work.tmp_rows, True)


def item_heads_of(work: DecodeWork, num_qo_heads: int, num_kv_heads: int) -> int:
    """The kv heads per item of a schedule: H when the uniform rule made every item one of H heads (its rows'
    ``Item.HEADS_LOG2``), 0 when the mixed pass made some (``work.mixed_heads``: H per item, the run-time-H variant's
    plans), else 1. The head counts are the plan's (kept for the callers' symmetry)."""
    if work.mixed_heads:
        return 0
    return 1 << (int(work.items[0, Item.HEADS_LOG2]) & HEADS_LOG2_MASK) if work.items.shape[0] else 1


def plan_decode_work(kv_lens, page_base, num_qo_heads: int, num_kv_heads: int, head_dim: int,
                     num_sms: int, elem_bytes: int = 2, page_size: int = 16, max_item_heads: int | None = None,
                     mixed_item_heads: bool | None = None) -> DecodeWork:
    """Split the KV rows of every (request, kv head, head block) over at most ``num_sms`` CTAs.

    The sequences are laid end to end in one stream of bytes (each with ``ITEM_OVERHEAD_BYTES`` in
    front) and cut into ``num_ctas`` equal shares; a cut close to a sequence end moves there, and a cut
    inside a sequence splits it into parts that the kernel merges. Every KV row of every sequence is
    covered exactly once; an empty request gets one item that writes zeros and ``-inf``.

    Host cost: the ``S = num_kv_heads x head blocks`` sequences of a request have one length, so the
    stream is located at request granularity; the item table is a cached per-request template
    broadcast over the batch, and only the (at most ``num_sms - 1``) cuts are handled per element.
    ``cute_attn/csrc/decode_plan.cpp`` is its compiled twin (the same schedule bit for bit), which
    plan() uses when it is built; this one is the reference and the fallback. ``page_size`` only decides
    the head-minor CTA order (:func:`head_minor_min_page`).

    Items of H kv heads (:func:`item_heads_of`): when every CTA would run the same number k > 1 of whole sequences
    (no split), each run of H stream-adjacent sequences of a CTA (kv heads h .. h + H - 1 of one request) becomes one
    item, H from ``ITEM_HEADS`` (at most ``max_item_heads``, default ``MAX_ITEM_HEADS``; head dims
    ``ITEM_HEADS_HEAD_DIMS``); the same bytes per CTA, k / H items each, stream order (no head-minor order). Elsewhere,
    with ``mixed_item_heads`` (default ``MIXED_ITEM_HEADS``), each CTA's runs of H whole sequences of one request become
    items of H heads among the others (:func:`_merge_head_runs`; ``DecodeWork.mixed_heads``).
    """
    if max_item_heads is None:
        max_item_heads = MAX_ITEM_HEADS
    if mixed_item_heads is None:
        mixed_item_heads = MIXED_ITEM_HEADS
    group = num_qo_heads // num_kv_heads

    def mixed(work: DecodeWork) -> DecodeWork:
        return _merge_head_runs(work, group, head_dim, max_item_heads) if mixed_item_heads else work

    kv_lens = np.asarray(kv_lens, dtype=np.int64)
    page_base = np.asarray(page_base, dtype=np.int64)
    tmpl, tmpl_rows = _template(num_qo_heads, num_kv_heads)
    S = len(tmpl)
    batch = len(kv_lens)
    n_seq = batch * S
    if n_seq == 0:
        return DecodeWork(np.zeros((0, ITEM_WIDTH), np.int32), np.zeros(1, np.int32), 0, 0)
    base = np.empty((batch, S, ITEM_WIDTH), dtype=np.int32)
    base[...] = tmpl
    base[:, :, Item.BATCH] = np.arange(batch)[:, None]
    base[:, :, Item.KV_END] = kv_lens[:, None]
    base[:, :, Item.PAGE_BASE] = page_base[:, None]
    base = base.reshape(n_seq, ITEM_WIDTH)

    if MAX_PARTS > 0:
        num_sms = min(num_sms, MAX_PARTS * n_seq)
    row_bytes = 2 * head_dim * elem_bytes
    seq_cost = kv_lens * row_bytes + ITEM_OVERHEAD_BYTES  # every sequence of request b
    req_end = np.cumsum(seq_cost * S)
    total = int(req_end[-1])
    target = max(total / max(num_sms, 1), MIN_ROWS_PER_CTA * row_bytes + ITEM_OVERHEAD_BYTES)
    num_ctas = max(1, min(num_sms, math.ceil(total / target)))
    if num_ctas == 1:
        h = _item_heads_rule(n_seq, num_qo_heads, num_kv_heads, head_dim, max_item_heads)
        one = np.array([0, n_seq], np.int32)
        return _with_item_heads(base, one, h) if h > 1 else mixed(DecodeWork(base, one, 0, 0))

    cuts = _locate_cuts(total, num_ctas, req_end, seq_cost, kv_lens, S)
    if num_ctas == num_sms and CTA_SLACK_DIV:
        best = int(cuts[-1].sum())
        for cand in range(num_sms - 1, max(num_sms - num_sms // CTA_SLACK_DIV, 2) - 1, -1):
            c_cuts = _locate_cuts(total, cand, req_end, seq_cost, kv_lens, S)
            if int(c_cuts[-1].sum()) < best:
                best, num_ctas, cuts = int(c_cuts[-1].sum()), cand, c_cuts
    share, bounds, r, i, lo, inside = cuts
    lens_r = kv_lens[r]
    cut_cta = np.flatnonzero(inside)  # the CTA after cut j is j + 1
    cut_seq = (r * S + i)[cut_cta]
    cut_len = lens_r[cut_cta]
    cut_row = np.clip((bounds[cut_cta] - lo[cut_cta] - ITEM_OVERHEAD_BYTES) // row_bytes, 0, cut_len).astype(np.int64)

    # CTA of each sequence's first row
    seq_start = (req_end - seq_cost * S)[:, None] + seq_cost[:, None] * np.arange(S)
    cta = np.searchsorted(bounds, seq_start.ravel(), side="right")
    if len(cut_seq):
        # only a sequence's first and last pieces can be short (inner pieces are whole CTA shares): a
        # short one joins its neighbour, whose CTA then runs both
        d = np.diff(cut_seq)
        first = np.concatenate(([True], d != 0))
        last = np.concatenate((d != 0, [True]))
        lone = first & last
        tail = cut_len - cut_row
        drop = np.where(lone, np.minimum(cut_row, tail) < MIN_PIECE_ROWS,
                        (first & (cut_row < MIN_PIECE_ROWS)) | (last & (tail < MIN_PIECE_ROWS)))
        # a dropped first cut hands the sequence's start to the next CTA; a lone cut whose second
        # piece is the longer (or equal) one hands the whole sequence there
        cta[cut_seq[drop & first & (~lone | (cut_row <= tail))]] += 1
        kept = ~drop
        cut_seq, cut_row, cut_cta = cut_seq[kept], cut_row[kept], cut_cta[kept]
    if len(cut_seq) == 0:
        cta_ptr = np.zeros(num_ctas + 1, dtype=np.int32)
        np.cumsum(np.bincount(cta, minlength=num_ctas), out=cta_ptr[1:])
        k = n_seq // num_ctas
        even = k * num_ctas == n_seq and cta_ptr[-1] == n_seq and (cta_ptr[1:] - cta_ptr[:-1] == k).all()
        h = _item_heads_rule(k, num_qo_heads, num_kv_heads, head_dim, max_item_heads) if even else 1
        if h > 1:
            return _with_item_heads(base, cta_ptr, h)
        if 0 < head_minor_min_page(head_dim) <= page_size and S > 1 and k > 1 and num_ctas % S == 0 and even:
            base = base.reshape(num_ctas // S, k, S, ITEM_WIDTH).transpose(0, 2, 1, 3).reshape(n_seq, ITEM_WIDTH)
        return mixed(DecodeWork(base, cta_ptr, 0, 0))

    # split sequences: the kept cuts of one sequence are adjacent; each split adds its cuts as parts
    d = np.diff(cut_seq)
    new_seq = np.concatenate(([True], d != 0))
    split_seq = cut_seq[new_seq]  # ascending
    num_splits = len(split_seq)
    split_of_cut = np.cumsum(new_seq) - 1
    cut_first = np.flatnonzero(new_seq)
    parts = np.diff(np.append(cut_first, len(cut_seq))) + 1  # parts of each split
    # item rows: a sequence's row is repeated once per part, in stream order (= CTA order)
    n_items = np.ones(n_seq, np.int64)
    n_items[split_seq] = parts
    items = np.repeat(base, n_items, axis=0)
    ctas = np.repeat(cta, n_items)
    item_first = np.cumsum(n_items) - n_items
    split_first = item_first[split_seq]
    # the part items after each split's first: cut k is part (k - first cut of its split) + 1
    cut_item = split_first[split_of_cut] + (np.arange(len(cut_seq)) - cut_first[split_of_cut]) + 1
    ctas[cut_item] = cut_cta + 1
    items[cut_item, Item.KV_START] = cut_row
    items[cut_item - 1, Item.KV_END] = cut_row
    block_rows = tmpl_rows[split_seq % S]
    tmp_span = -(-parts * block_rows // TMP_ALIGN_ROWS) * TMP_ALIGN_ROWS
    tmp_base = np.cumsum(tmp_span) - tmp_span
    split_items = np.repeat(split_first, parts) + (np.arange(parts.sum()) - np.repeat(np.cumsum(parts) - parts, parts))
    items[split_items, Item.MERGE_ID] = np.repeat(np.arange(num_splits), parts)
    items[split_items, Item.PART] = split_items - np.repeat(split_first, parts)
    items[split_items, Item.NUM_PARTS] = np.repeat(parts, parts)
    items[split_items, Item.TMP_BASE] = np.repeat(tmp_base, parts)
    cta_ptr = np.zeros(num_ctas + 1, dtype=np.int32)
    np.cumsum(np.bincount(ctas, minlength=num_ctas), out=cta_ptr[1:])
    return mixed(DecodeWork(items, cta_ptr, num_splits, int(tmp_span.sum())))


def _host_ints(name: str, t, length: int | None = None) -> np.ndarray:
    """Values of an index vector on the host (a CUDA tensor costs one sync: pass CPU tensors)."""
    if isinstance(t, (list, tuple)):
        values = np.asarray(C.int_list(name, t), dtype=np.int64)
        if length is not None and len(values) != length:
            raise ValueError(f"{name} must have length {length}, got {len(values)}")
        return values
    C.index_vector(name, t, length)
    return t.cpu().numpy().astype(np.int64)


_PLANNER_ABI = 5
_PLANNER: list = []  # [library or None], loaded once per process
# decode_plan_packed's int64 argument block (decode_plan.cpp's enum Arg): the fields plan() sets per call,
# then the schedule buffer's (set once per buffer), then 8 of results (decode_plan's info)
(ARG_INDPTR, ARG_LAST_LEN, ARG_BATCH, ARG_PAGE_SIZE, ARG_INDICES, ARG_INDICES_LEN, ARG_INDICES_OUT, ARG_NUM_QO_HEADS,
 ARG_NUM_KV_HEADS, ARG_HEAD_DIM, ARG_NUM_SMS, ARG_MAX_ITEM_HEADS, ARG_MIXED_HEADS, ARG_ELEM_BYTES, ARG_IDX_CAP, ARG_ITEMS,
 ARG_ITEM_CAP, ARG_CTA_PTR, ARG_CTA_CAP, ARG_SCRATCH, ARG_SCRATCH_LEN, ARG_INFO) = range(22)
ARG_LEN = ARG_INFO + 8
_pack_call_args = struct.Struct(f"{ARG_ELEM_BYTES}q").pack_into  # the per-call fields, one call
# num_items, num_ctas, num_splits, tmp_rows, max page id, nnz, (first bad entry; on success 1 when the mixed pass merged
# runs: DecodeWork.mixed_heads), the largest request's page count
_unpack_info = struct.Struct("8q").unpack_from


def compiled_planner(path: str | None = None):
    """The compiled planner (``cute_attn/csrc/decode_plan.cpp``) with its ctypes signature, or None
    when it is not built (plan() then uses :func:`plan_decode_work`). ``path`` loads a given build
    (tests)."""
    if path is None and _PLANNER:
        return _PLANNER[0]
    lib = hostlib.load("decode_plan", path)
    if lib is not None:
        if lib.plan_abi() != _PLANNER_ABI or lib.plan_arg_len() != ARG_LEN:
            lib = None
        else:
            p, i64 = ctypes.c_void_p, ctypes.c_int64
            lib.plan_scratch_len.restype = i64
            lib.plan_scratch_len.argtypes = [i64, i64]
            lib.decode_plan.restype = ctypes.c_int
            lib.decode_plan.argtypes = [p, p, i64, i64, p, i64, p, i64, i64, i64, i64, i64, i64, i64, i64, p, i64, p,
                                        i64, p, i64, p]
            # plan() passes its ctypes argument block as is (argtypes None: no per-argument conversion)
            lib.decode_plan_packed.restype = ctypes.c_int
            lib.decode_plan_packed.argtypes = None
            lib.plan_set_max_parts.restype = i64
            lib.plan_set_max_parts.argtypes = [i64]
    if path is None:
        _PLANNER.append(lib)
    return lib


def set_max_parts(max_parts: int, lib=None) -> None:
    """Set the MAX_PARTS planner knob for the numpy planner and the compiled one (``lib``, default: plan()'s)."""
    global MAX_PARTS
    MAX_PARTS = int(max_parts)
    lib = compiled_planner() if lib is None else lib
    if lib is not None:
        lib.plan_set_max_parts(MAX_PARTS)


def plan_decode_work_compiled(lib, indptr: np.ndarray, last: np.ndarray, page_size: int, num_qo_heads: int,
                              num_kv_heads: int, head_dim: int, num_sms: int, max_item_heads: int | None = None,
                              mixed_item_heads: bool | None = None) -> DecodeWork | None:
    """The compiled planner on int32 host arrays (tests, inspection); None where it declines
    (invalid page table): plan() then raises through the numpy path."""
    indptr = np.ascontiguousarray(indptr, dtype=np.int32)
    last = np.ascontiguousarray(last, dtype=np.int32)
    batch = len(indptr) - 1
    group = num_qo_heads // num_kv_heads
    n_seq = batch * num_kv_heads * len(head_blocks(group))
    items = np.empty((n_seq + num_sms, ITEM_WIDTH), np.int32)
    cta_ptr = np.empty(num_sms + 1, np.int32)
    scratch = np.empty(lib.plan_scratch_len(batch, num_sms), np.int64)
    info = np.zeros(8, np.int64)
    rc = lib.decode_plan(indptr.ctypes.data, last.ctypes.data, batch, page_size, None, int(indptr[-1]), None, 0,
                         num_qo_heads, num_kv_heads, head_dim, num_sms,
                         MAX_ITEM_HEADS if max_item_heads is None else max_item_heads,
                         int(MIXED_ITEM_HEADS if mixed_item_heads is None else mixed_item_heads), 2, items.ctypes.data,
                         len(items),
                         cta_ptr.ctypes.data, len(cta_ptr), scratch.ctypes.data, len(scratch), info.ctypes.data)
    if rc:
        return None
    n_items, num_ctas, num_splits, tmp_rows = (int(x) for x in info[:4])
    return DecodeWork(items[:n_items], cta_ptr[: num_ctas + 1], num_splits, tmp_rows, bool(info[6]))


def _scratch_len(batch: int, num_sms: int) -> int:
    """int64 scratch of the compiled planner (its plan_scratch_len; tests check they agree)."""
    return 5 * batch + 7 * num_sms + 16


_CUDART: list = []  # [the CUDA runtime torch loaded, or None], looked up once per process
_MEMCPY_HOST_TO_DEVICE = 1
_EVENT_DISABLE_TIMING = 2


def _cudart():
    """The CUDA runtime library torch already loaded (``RTLD_NOLOAD``: never a second copy), with the
    signatures of the few calls plan() makes directly (an async copy and an event: each torch op
    around them costs several us of host time); None where it is not found, and then plan() uses
    torch's copy and event."""
    if _CUDART:
        return _CUDART[0]
    lib = None
    if (os.environ.get("CUTE_ATTN_NO_HOSTLIB") != "1" and hasattr(torch._C, "_cuda_getCurrentRawStream")
            and hasattr(torch._C, "_cuda_getDevice")):
        for name in ("libcudart.so.13", "libcudart.so.12", "libcudart.so"):
            try:
                lib = ctypes.CDLL(name, mode=os.RTLD_NOLOAD)
                break
            except OSError:
                continue
    if lib is not None:
        p, c_int = ctypes.c_void_p, ctypes.c_int
        for fn, args in (("cudaMemcpyAsync", [p, p, ctypes.c_size_t, c_int, p]),
                         ("cudaMemsetAsync", [p, c_int, ctypes.c_size_t, p]), ("cudaEventRecord", [p, p]),
                         ("cudaEventSynchronize", [p]), ("cudaEventCreateWithFlags", [p, ctypes.c_uint]),
                         ("cudaEventDestroy", [p]), ("cudaGetLastError", [])):
            getattr(lib, fn).argtypes = args
            getattr(lib, fn).restype = c_int
    _CUDART.append(lib)
    return lib


class _Schedule:
    """The schedule's host buffer (pinned when planning for a GPU) and its device twin, one int32 buffer each, laid
    out ``[cta_ptr (cta_cap) | kv_indptr (indptr_cap) | items (item_cap x ITEM_WIDTH) | page ids (idx_cap)]``: plan()
    writes the schedule, the indptr of a ``sort_pages`` plan (the sort kernel's input) and the page ids when they are
    given on the host into the host buffer and sends it with one non-blocking copy on the current stream
    (``cudaMemcpyAsync`` straight from the CUDA runtime when torch's is found, else ``Tensor.copy_``). The kernel gets
    views of the whole regions (it reads only what cta_ptr names). Before the host buffer is rewritten, the event of
    the copies that last read it is waited on (normally long complete)."""

    def __init__(self, device: torch.device, item_cap: int, cta_cap: int, idx_cap: int, scratch_len: int,
                 indptr_cap: int = 1):
        self.item_cap, self.cta_cap, self.idx_cap, self.indptr_cap = item_cap, cta_cap, idx_cap, indptr_cap
        self.indptr_at = -(-cta_cap // 4) * 4  # regions start on 16-byte boundaries
        self.items_at = self.indptr_at + -(-indptr_cap // 4) * 4
        self.idx_at = self.items_at + item_cap * ITEM_WIDTH
        n = self.idx_at + idx_cap
        on_gpu = device.type == "cuda"
        self.host = torch.empty(n, dtype=torch.int32, pin_memory=on_gpu)
        self.dev = torch.empty(n, dtype=torch.int32, device=device) if on_gpu else self.host
        h = self.host.numpy()
        self.cta_h = h[:cta_cap]
        self.indptr_h = h[self.indptr_at:self.indptr_at + indptr_cap]
        self.items_h = h[self.items_at:self.idx_at].reshape(item_cap, ITEM_WIDTH)
        self.idx_h = h[self.idx_at:]
        self.cta_d = self.dev[:cta_cap]
        self.indptr_d = self.dev[self.indptr_at:self.indptr_at + indptr_cap]
        self.items_d = self.dev[self.items_at:self.idx_at].view(item_cap, ITEM_WIDTH)
        self.idx_d = self.dev[self.idx_at:]
        self.scratch = np.empty(scratch_len, np.int64)
        self.scratch_len = scratch_len
        # the compiled planner's argument block: this buffer's fields set once, plan() packs the others
        self.args = (ctypes.c_int64 * ARG_LEN)()
        a = self.args
        a[ARG_ELEM_BYTES], a[ARG_IDX_CAP] = 2, idx_cap
        a[ARG_ITEMS], a[ARG_ITEM_CAP] = self.items_h.ctypes.data, item_cap
        a[ARG_CTA_PTR], a[ARG_CTA_CAP] = self.cta_h.ctypes.data, cta_cap
        a[ARG_SCRATCH], a[ARG_SCRATCH_LEN] = self.scratch.ctypes.data, scratch_len
        self.idx_ptr = self.idx_h.ctypes.data
        self.indptr_ptr = self.indptr_h.ctypes.data  # (sort_pages: plan() copies a CPU indptr here)
        self.indptr_dev_ptr = self.indptr_d.data_ptr()
        self.host_ptr, self.dev_ptr = self.host.data_ptr(), self.dev.data_ptr()
        self.dev_index = self.dev.get_device() if on_gpu else -1
        self.rt = _cudart() if on_gpu else None
        self.stream: int | None = None  # the raw stream of the last direct copy
        self.raw_event: ctypes.c_void_p | None = None
        self.pending = False  # raw_event recorded after the last copies
        self.event: torch.cuda.Event | None = None

    def fits(self, item_cap: int, cta_cap: int, idx_cap: int, scratch_len: int, indptr_cap: int = 1) -> bool:
        return (item_cap <= self.item_cap and cta_cap <= self.cta_cap and idx_cap <= self.idx_cap
                and scratch_len <= len(self.scratch) and indptr_cap <= self.indptr_cap)

    def wait(self) -> None:
        if self.pending:
            rc = self.rt.cudaEventSynchronize(self.raw_event)
            if rc:
                raise RuntimeError(f"cudaEventSynchronize failed with CUDA error {rc}")
            self.pending = False
        if self.event is not None:
            self.event.synchronize()

    def send(self, n: int) -> None:
        """Copy the first ``n`` ints to the device (non-blocking, current stream)."""
        self.stream = None
        rt = self.rt
        if rt is not None and self.dev_index == torch._C._cuda_getDevice():  # torch.cuda.current_device(), less
            stream = torch._C._cuda_getCurrentRawStream(self.dev_index)  # its lazy-init check (done: dev exists)
            rc = rt.cudaMemcpyAsync(self.dev_ptr, self.host_ptr, n * 4, _MEMCPY_HOST_TO_DEVICE, stream)
            if rc == 0:
                self.stream = stream
                return
            rt.cudaGetLastError()  # not sticky (an argument error): torch's copy below instead
        self.dev[:n].copy_(self.host[:n], non_blocking=True)

    def zero_tail(self, t: torch.Tensor, n: int) -> None:
        """Zero the last ``n`` elements of the contiguous int32 device tensor ``t`` on the stream of the last
        :meth:`send` (one ``cudaMemsetAsync``: a torch slice and ``zero_()`` cost ~10-40 us of plan() host time)."""
        if self.stream is not None:
            if self.rt.cudaMemsetAsync(t.data_ptr() + (t.shape[0] - n) * 4, 0, n * 4, self.stream) == 0:
                return
            self.rt.cudaGetLastError()
        t[t.shape[0] - n:].zero_()

    def record(self) -> None:
        """Mark the end of the copies that read the host buffer (one event, re-recorded)."""
        if self.stream is not None:
            if self.raw_event is None:
                ev = ctypes.c_void_p()
                if self.rt.cudaEventCreateWithFlags(ctypes.byref(ev), _EVENT_DISABLE_TIMING) == 0:
                    self.raw_event = ev
            if self.raw_event is not None and self.rt.cudaEventRecord(self.raw_event, self.stream) == 0:
                self.pending = True
                return
        if self.event is None:
            self.event = torch.cuda.Event()
        self.event.record()

    def __del__(self):
        # the host buffer returns to torch's pinned pool: no copy may still read it
        try:
            if self.pending:
                self.rt.cudaEventSynchronize(self.raw_event)
            if self.raw_event is not None:
                self.rt.cudaEventDestroy(self.raw_event)
        except Exception:  # interpreter shutdown: the runtime may be gone already
            pass


def sort_request_pages_(out: torch.Tensor, ids: torch.Tensor, indptr: np.ndarray) -> None:
    """``out[:nnz]`` = ``ids[:nnz]`` with each request's page ids but its last in ascending order (requests
    ``[indptr[b], indptr[b + 1])``; the last page of each stays last; ``out`` may be ``ids``). On a CUDA tensor one
    stream-ordered launch (``kernels/sort_pages.py``; a request of more than ``SORT_PAGES_CHUNK`` + 1 pages is sorted in
    chunks of ``SORT_PAGES_CHUNK``, each ascending) after a pinned copy of ``indptr``; no sync. On the host (CPU plans:
    tests, inspection, the bench's page tables) one sort of 64-bit keys request << 32 | last << 31 | id."""
    indptr = np.ascontiguousarray(indptr, dtype=np.int32)
    nnz = int(indptr[-1])
    if nnz == 0:
        return
    pages = np.diff(indptr)
    if ids.device.type == "cuda":
        indptr_d = torch.from_numpy(indptr).pin_memory().to(ids.device, non_blocking=True)
        _launch_sort(out, ids, indptr_d.data_ptr(), len(indptr) - 1, int(pages.max()))
        return
    starts = torch.from_numpy(indptr[1:-1][indptr[1:-1] < nnz].astype(np.int64))
    lasts = torch.from_numpy(indptr[1:][pages > 0].astype(np.int64) - 1)
    seg = torch.zeros(nnz, dtype=torch.int64)
    seg.index_add_(0, starts, torch.ones_like(starts))
    key = (seg.cumsum_(0) << 32) | ids[:nnz].to(torch.int64)
    key[lasts] |= 1 << 31
    out[:nnz] = (torch.sort(key).values & 0x7FFFFFFF).to(torch.int32)


_SORT_KERNEL: list = []  # the loaded page-id sort (kernels/sort_pages.py), once per process


def _launch_sort(out: torch.Tensor, ids: torch.Tensor, indptr_d: int, batch: int, max_pages: int) -> None:
    """The sort kernel on the current stream: ``indptr_d`` the address of (batch + 1,) int32 on the ids' device (the
    kernel takes addresses, ``kernels/sort_pages.py``), ``max_pages`` the largest request's page count (sizes the
    grid's chunk dimension)."""
    if not _SORT_KERNEL:
        _SORT_KERNEL.append(get_kernel(SortPagesSpec()))
    _SORT_KERNEL[0](out, ids.data_ptr(), indptr_d, batch, max(1, -(-(max_pages - 1) // SORT_PAGES_CHUNK)))


@dataclasses.dataclass
class _Plan:
    spec: DecodeSpec
    batch: int
    num_qo_heads: int
    num_kv_heads: int
    page_size: int
    scale_log2: float
    work: DecodeWork
    max_page_id: int  # -1 when kv_indices were not seen on the host
    kv_indices: torch.Tensor  # on the run device
    items: torch.Tensor
    cta_ptr: torch.Tensor
    tmp_o: torch.Tensor
    tmp_lse: torch.Tensor
    counters: torch.Tensor
    grid: int
    kernel: object = None  # the loaded kernel, once run() has checked a geometry
    lse: torch.Tensor | None = None  # LSE output when run() is not asked for it
    lse_view: torch.Tensor | None = None  # its kernel view
    checked: dict = dataclasses.field(default_factory=dict)  # input geometry -> which tensors need a view
    # _PTR_ARGS: the addresses of kv_indices, items, cta_ptr, tmp_o, tmp_lse, counters; item_cap, tmp rows
    ptr_args: tuple = ()


class BatchDecodeWithPagedKVCacheWrapper:
    """Decode attention over a paged KV cache, FlashInfer-style: ``plan()`` once per batch layout
    (host work), ``run()`` per layer (one launch on the current stream).

    ``workspace_buffer`` (optional, a CUDA uint8 tensor) fixes the device and holds the split-KV
    partial states when large enough. ``use_cuda_graph=True`` keeps every device buffer at a fixed
    address: the first ``plan()`` sizes them (batch size, head counts, head_dim and the length of
    that plan's ``kv_indices`` are then the capacity), later plans rewrite their contents, so a graph
    captured around ``run()`` replays correctly after a new ``plan()``; at head_dim 64 / 128 the captured kernel is the
    variant that reads each work item's kv head count at run time (``GRAPH_ITEM_HEADS``), so every replan may use items
    of several kv heads; a replan of one item per CTA marks its items so that kernel keeps a KV stage fewer in flight
    (``GRAPH_ONE_ITEM_LAG``). ``paged_kv_indices_buffer`` (graph mode) sets the page-id capacity explicitly. One wrapper
    must not run concurrently with itself (its split counters are shared).
    """

    def __init__(self, workspace_buffer: torch.Tensor | None = None, kv_layout: str = "NHD",
                 use_cuda_graph: bool = False, paged_kv_indices_buffer: torch.Tensor | None = None,
                 device: torch.device | str | None = None):
        if kv_layout not in KV_LAYOUTS:
            raise ValueError(f"kv_layout must be one of {KV_LAYOUTS}, got {kv_layout!r}")
        if workspace_buffer is not None:
            C.tensor("workspace_buffer", workspace_buffer, dtypes=(torch.uint8,))
        self.kv_layout = kv_layout
        self.use_cuda_graph = bool(use_cuda_graph)
        self.workspace_buffer = workspace_buffer
        if device is not None:
            self.device = torch.device(device)
        elif workspace_buffer is not None:
            self.device = workspace_buffer.device
        else:
            self.device = torch.device("cuda")
        self._indices_buffer = paged_kv_indices_buffer
        self._on_gpu = self.device.type == "cuda"
        self._sched: _Schedule | None = None
        self._graph_key: tuple | None = None
        self._graph_tmp: tuple[torch.Tensor, torch.Tensor] | None = None
        self._counters: torch.Tensor | None = None
        self._tmp_bufs: tuple[torch.Tensor, torch.Tensor] | None = None
        self._sorted_ids: torch.Tensor | None = None  # sort_pages plans of device page ids (outside graph mode)
        self._plan: _Plan | None = None
        self._plan_args: tuple | None = None  # plan()'s last checked scalar arguments and what follows from them
        # the last paged_kv_cache seen by run(): (objects, data pointers, shapes, (k_cache, v_cache, geometry, ptrs))
        self._kv_seen: tuple | None = None
        self._run_last: tuple | None = None  # run()'s last checked (plan, input geometry, views)

    # ----------------------------------------------------------------------------------------- plan

    def plan(self, kv_indptr, kv_indices, kv_last_page_len, num_qo_heads: int, num_kv_heads: int,
             head_dim: int, page_size: int, sm_scale: float | None = None,
             q_data_type: torch.dtype = torch.bfloat16, kv_data_type: torch.dtype | None = None,
             sort_pages: bool = True) -> None:
        """Validate the page table and build the work schedule. ``kv_indptr`` and
        ``kv_last_page_len`` are read on the host (pass CPU tensors or lists to avoid a device sync);
        ``kv_indices`` may live on the GPU (then its ids are not range-checked, and outside graph mode the
        plan keeps a reference to that tensor, not a copy: do not overwrite it before the plan's last run).

        With int32 CPU tensors and the compiled planner built (``python -m cute_attn.build``), the
        checks, the schedule and the page-id staging are one C call; the schedule (and the page ids
        when on the host) go to the GPU in one non-blocking copy from a reused pinned buffer.
        Otherwise the numpy planner (:func:`plan_decode_work`) makes the same schedule.

        ``sort_pages`` (default on): the kernel visits each request's pages but its last in ascending page id
        (decode attention does not depend on the order of its keys; the last, partial page stays last). With pages
        scattered over the cache a request's consecutive pages then fall in the same 2 MiB regions and share address
        translations: +0.3-4 % KV bandwidth on the H100 with shuffled page ids, nothing to lose with ordered ones
        (bench/NOTES-decode.md, session 12). The sort is one launch on the plan's stream (``kernels/sort_pages.py``,
        no device sync; the indptr goes in the schedule's one copy; ~8 us of plan() host time at batch 256 on the
        H100 host, session 13) into a plan-owned copy of the page
        ids (the caller's ``kv_indices`` are not modified). Outputs equal the unsorted plan's up to the rounding of
        the other summation order. A request of more than 16385 pages is sorted in chunks of 16384. The sort's GPU
        time, paid once before the plan's first run(): 5-13 us for requests of up to 4096 pages, ~40 us for a
        16384-page chunk (H100; README, "Decode", and ``bench/decode_sort_cost.py`` for what it buys per run()).

        The plan's first run() leaves each CTA's first tile of page ids in the plan's counters buffer for its later runs
        (head_dim 128: one dependent load less at their start); this plan() invalidates what an earlier plan left there
        (one ``cudaMemsetAsync`` on the current stream)."""
        # the scalar arguments' checks and what follows from them, once per distinct tuple (a decode loop
        # plans with the same ones every step); the exact int types keep True / 16.0 off the cached path
        key = (num_qo_heads, num_kv_heads, head_dim, page_size, sm_scale, q_data_type, kv_data_type)
        seen = self._plan_args
        if (seen is None or seen[0] != key or type(num_qo_heads) is not int or type(num_kv_heads) is not int
                or type(page_size) is not int):
            seen = self._plan_args = (key, *self._check_plan_args(*key))
        spec, scale, num_sms = seen[1], seen[2], seen[3]
        if self.use_cuda_graph and GRAPH_ITEM_HEADS:
            spec = _dyn_spec(spec)
        t = kv_indices
        if not (isinstance(t, torch.Tensor) and t.dtype is torch.int32 and t.dim() == 1 and t.is_contiguous()):
            if isinstance(kv_indices, (list, tuple)):
                kv_indices = torch.tensor(C.int_list("kv_indices", kv_indices), dtype=torch.int32)
            C.index_vector("kv_indices", kv_indices)
        heads = (num_qo_heads, num_kv_heads)
        planned = self._plan_compiled(kv_indptr, kv_indices, kv_last_page_len, heads, spec, page_size, num_sms)
        if planned is None:
            planned = self._plan_numpy(kv_indptr, kv_indices, kv_last_page_len, heads, spec, page_size, num_sms)
        sched, work, batch, max_page_id, nnz, max_pages = planned
        n_items = work.items.shape[0]
        if (self.use_cuda_graph and spec.dyn_heads and GRAPH_ONE_ITEM_LAG and 0 < n_items == work.num_ctas
                and spec.head_dim in GRAPH_ONE_ITEM_LAG_HEAD_DIMS):
            # one item per CTA: the captured variant keeps a stage fewer in flight (GRAPH_ONE_ITEM_LAG); the rows sent
            # are the schedule's (the compiled planner's work.items is a view of them, the numpy one's a copy)
            for rows in (sched.items_h[:n_items], work.items):
                rows[:, Item.HEADS_LOG2] |= 1 << ITEM_LAG_BIT
        if not self.use_cuda_graph:
            h = item_heads_of(work, num_qo_heads, num_kv_heads)
            if h > 1:  # items of h kv heads (layouts/decode_work.py ITEM_HEADS): their variant, one-item stages
                spec = _one_item_spec(spec, h)
            elif h == 0:  # items of several head counts (the mixed pass): the run-time-H variant
                spec = _dyn_spec(spec)
            elif spec.head_dim in DECODE_ONE_ITEM_STAGES and 0 < work.items.shape[0] == work.num_ctas:
                # every CTA runs one item (splits or one whole sequence per CTA): the shallower pipeline's variant
                # (layouts/decode_work.py DECODE_ONE_ITEM_STAGES; CUDA-graph mode keeps the one variant it captured)
                spec = _one_item_spec(spec)
        if not isinstance(sort_pages, bool):
            raise TypeError(f"sort_pages must be a bool, got {sort_pages!r}")
        indptr_sort = None
        if sort_pages and nnz:  # (validated by the planner; a contiguous CPU int32 tensor is copied from in place)
            indptr_sort = (kv_indptr if type(kv_indptr) is torch.Tensor and kv_indptr.dtype is torch.int32
                           and kv_indptr.is_cpu and kv_indptr.is_contiguous() else _host_ints("kv_indptr", kv_indptr))
        self._plan = self._commit(sched, spec, batch, heads, page_size, scale, work, max_page_id, kv_indices, nnz,
                                  num_sms, indptr_sort, max_pages)

    def _check_plan_args(self, num_qo_heads, num_kv_heads, head_dim, page_size, sm_scale, q_data_type, kv_data_type):
        """Checks of plan()'s scalar arguments; (spec, softmax scale, SM count)."""
        for name, n in (("num_qo_heads", num_qo_heads), ("num_kv_heads", num_kv_heads), ("page_size", page_size)):
            if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
                raise ValueError(f"{name} must be a positive int, got {n!r}")
        if num_qo_heads % num_kv_heads:
            raise ValueError(f"num_qo_heads ({num_qo_heads}) must be a multiple of num_kv_heads ({num_kv_heads})")
        if head_dim not in DECODE_HEAD_DIMS:
            raise ValueError(f"head_dim must be one of {DECODE_HEAD_DIMS}, got {head_dim!r}")
        if q_data_type not in C.VALUE_DTYPES:
            raise TypeError(f"q_data_type must be torch.bfloat16 or torch.float16, got {q_data_type}")
        if kv_data_type is not None and kv_data_type != q_data_type:
            raise TypeError(f"kv_data_type {kv_data_type} must equal q_data_type {q_data_type}")
        scale = C.softmax_scale(sm_scale, head_dim)
        num_sms = _num_sms(self.device) if self._on_gpu else DEFAULT_NUM_SMS
        return _decode_spec(q_data_type, head_dim), scale, num_sms

    def _plan_compiled(self, kv_indptr, kv_indices, kv_last_page_len, heads, spec, page_size, num_sms):
        """(schedule buffer, work, batch, max page id, page count) from the compiled planner, or None
        (not built, inputs not int32 CPU tensors, or an invalid page table: the numpy path then plans
        or raises with the message)."""
        lib = _PLANNER[0] if _PLANNER else compiled_planner()
        i32 = torch.int32  # _host_int32 of both, inline (a call costs ~0.1 us)
        if (lib is None or type(kv_indptr) is not torch.Tensor or type(kv_last_page_len) is not torch.Tensor
                or kv_indptr.dtype is not i32 or kv_last_page_len.dtype is not i32 or not kv_indptr.is_cpu
                or not kv_last_page_len.is_cpu or kv_indptr.dim() != 1 or kv_last_page_len.dim() != 1
                or not kv_indptr.is_contiguous() or not kv_last_page_len.is_contiguous()):
            if lib is None or not (_host_int32(kv_indptr) and _host_int32(kv_last_page_len)):
                return None  # (a tensor subclass passes _host_int32 and goes on)
        batch = kv_indptr.shape[0] - 1  # (not len(): Tensor.__len__ is Python, ~0.6 us)
        if batch < 0 or kv_last_page_len.shape[0] != batch:
            return None
        num_qo_heads, num_kv_heads = heads
        host_ids = kv_indices.is_cpu
        n_idx = kv_indices.shape[0]
        n_seq = batch * num_kv_heads * -(-(num_qo_heads // num_kv_heads) // MAX_ROWS)
        sched = self._sched
        item_cap, idx_need = n_seq + num_sms, n_idx if host_ids or self.use_cuda_graph else 0
        scratch_len = _scratch_len(batch, num_sms)
        if (sched is None or self.use_cuda_graph or item_cap > sched.item_cap or num_sms + 1 > sched.cta_cap
                or idx_need > sched.idx_cap or scratch_len > sched.scratch_len
                or batch >= sched.indptr_cap):  # (else _schedule keeps it)
            sched = self._schedule(spec, batch, heads, item_cap, num_sms + 1, idx_need, scratch_len)
        if sched.pending or sched.event is not None:
            sched.wait()
        args = sched.args
        _pack_call_args(args, 0, kv_indptr.data_ptr(), kv_last_page_len.data_ptr(), batch, page_size,
                        kv_indices.data_ptr() if host_ids else 0, n_idx, sched.idx_ptr if host_ids else 0,
                        num_qo_heads, num_kv_heads, spec.head_dim, num_sms, _max_item_heads(spec, self.use_cuda_graph),
                        int(MIXED_ITEM_HEADS))
        if lib.decode_plan_packed(args):
            return None
        n_items, num_ctas, num_splits, tmp_rows, max_page_id, nnz, mixed, max_pages = _unpack_info(args, ARG_INFO * 8)
        work = DecodeWork(sched.items_h[:n_items], sched.cta_h[: num_ctas + 1], num_splits, tmp_rows, mixed == 1)
        return sched, work, batch, max_page_id, nnz, max_pages

    def _plan_numpy(self, kv_indptr, kv_indices, kv_last_page_len, heads, spec, page_size, num_sms):
        """The same as :meth:`_plan_compiled` with numpy checks and :func:`plan_decode_work`."""
        indptr = _host_ints("kv_indptr", kv_indptr)
        if len(indptr) < 1:
            raise ValueError("kv_indptr must have at least one element")
        if indptr[0] != 0 or (len(indptr) > 1 and (indptr[1:] < indptr[:-1]).any()):
            C.indptr_values("kv_indptr", indptr.tolist())  # raises, naming the first bad entry
        batch = len(indptr) - 1
        last = _host_ints("kv_last_page_len", kv_last_page_len, batch)
        nnz = int(indptr[-1])
        if nnz > kv_indices.shape[0]:
            raise ValueError(f"kv_indptr[-1]={nnz} exceeds len(kv_indices)={kv_indices.shape[0]}")
        pages = np.diff(indptr)
        bad = np.nonzero((pages > 0) & ((last < 1) | (last > page_size)))[0]
        if len(bad):
            b = int(bad[0])
            raise ValueError(f"kv_last_page_len[{b}]={int(last[b])} must lie in [1, page_size={page_size}]")
        max_page_id = -1
        host_ids = kv_indices.device.type == "cpu"
        if host_ids and nnz > 0:
            used = kv_indices[:nnz].numpy()
            hi = int(used.view(np.uint32).max())  # one pass: a negative id reads as >= 2^31
            if hi >= 1 << 31:
                raise ValueError(f"kv_indices must be non-negative, got {int(used.min())}")
            max_page_id = hi
        kv_lens = np.where(pages > 0, (pages - 1) * page_size + last, 0)
        num_qo_heads, num_kv_heads = heads
        work = plan_decode_work(kv_lens, indptr[:-1], num_qo_heads, num_kv_heads, spec.head_dim, num_sms,
                                page_size=page_size, max_item_heads=_max_item_heads(spec, self.use_cuda_graph))
        n_seq = batch * num_kv_heads * -(-(num_qo_heads // num_kv_heads) // MAX_ROWS)
        sched = self._schedule(spec, batch, heads, n_seq + num_sms, num_sms + 1,
                               self._idx_need(kv_indices, host_ids), 0)
        n_items = work.items.shape[0]
        if n_items > sched.item_cap or work.num_ctas + 1 > sched.cta_cap:
            raise RuntimeError("decode schedule exceeds its buffer capacity (a bug in plan_decode_work)")
        if host_ids and nnz > sched.idx_cap:
            raise ValueError(f"use_cuda_graph: {nnz} page ids exceed the buffer capacity {sched.idx_cap}")
        sched.wait()
        sched.items_h[:n_items] = work.items
        sched.cta_h[: work.num_ctas + 1] = work.cta_ptr
        sched.cta_h[work.num_ctas + 1:] = n_items
        if host_ids and nnz:
            sched.idx_h[:nnz] = kv_indices[:nnz].numpy()
        return sched, work, batch, max_page_id, nnz, int(pages.max()) if batch else 0

    def _idx_need(self, kv_indices: torch.Tensor, host_ids: bool) -> int:
        """Page-id slots the schedule buffer needs: the host ids are staged there; in graph mode the
        device ids are copied there too (unless the caller gave ``paged_kv_indices_buffer``)."""
        return kv_indices.shape[0] if host_ids or self.use_cuda_graph else 0

    def _schedule(self, spec, batch, heads, item_cap, cta_cap, idx_cap, scratch_len) -> _Schedule:
        """The schedule buffers for this plan: grown as needed, or (CUDA-graph mode) fixed by the first
        plan, whose batch size, heads, head_dim and dtype later plans must keep."""
        s = self._sched
        if self.use_cuda_graph:
            key = (spec, batch, *heads)
            if s is None:
                if self._indices_buffer is not None:
                    C.index_vector("paged_kv_indices_buffer", self._indices_buffer)
                    idx_cap = self._indices_buffer.shape[0]
                s = self._sched = _Schedule(self.device, item_cap, cta_cap, max(idx_cap, 1), scratch_len, batch + 1)
                self._graph_key = key
            elif key != self._graph_key:
                first = self._graph_key
                raise ValueError(
                    "use_cuda_graph: batch size, head counts, head_dim and dtype are fixed by the first plan(); "
                    f"got {key[1:]} with {spec.name}, first plan had {first[1:]} with {first[0].name}"
                )
            return s
        indptr_cap = batch + 1
        if s is None or not s.fits(item_cap, cta_cap, idx_cap, scratch_len, indptr_cap):
            if s is not None:  # grow with headroom, so a slowly growing batch reallocates rarely
                item_cap = max(item_cap, s.item_cap * 5 // 4)
                idx_cap = max(idx_cap, s.idx_cap * 5 // 4)
                scratch_len = max(scratch_len, len(s.scratch) * 5 // 4)
                indptr_cap = max(indptr_cap, s.indptr_cap * 5 // 4)
                s.wait()
            s = self._sched = _Schedule(self.device, item_cap, max(cta_cap, 1), max(idx_cap, 1), scratch_len,
                                        indptr_cap)
        return s

    def _commit(self, sched: _Schedule, spec, batch, heads, page_size, scale, work, max_page_id, kv_indices, nnz,
                num_sms, indptr_sort=None, max_pages=0) -> _Plan:
        """Send the schedule (one non-blocking copy) and bind the plan's device buffers; with ``indptr_sort`` (the
        host indptr of a ``sort_pages`` plan, an int32 CPU tensor or an array, sent in the same copy; ``max_pages``
        its largest request's page count) the page ids the kernel reads are sorted per request, by one launch after
        the copies (the event that guards the host buffer is recorded before it)."""
        d = spec.head_dim
        num_qo_heads, num_kv_heads = heads
        n_items = work.items.shape[0]
        if not self._on_gpu:  # host-only plan (tests, inspection): the schedule's host arrays, no copy
            items, cta_ptr, indices = torch.from_numpy(work.items), torch.from_numpy(work.cta_ptr), kv_indices
        else:
            items, cta_ptr = sched.items_d, sched.cta_d
            host_ids = kv_indices.is_cpu
            if indptr_sort is not None:
                if type(indptr_sort) is torch.Tensor:  # (a memmove: ~3 us less than .numpy() and a slice copy)
                    ctypes.memmove(sched.indptr_ptr, indptr_sort.data_ptr(), (batch + 1) * 4)
                else:
                    sched.indptr_h[:batch + 1] = indptr_sort
            own_ids = not (self.use_cuda_graph and self._indices_buffer is not None)
            if host_ids and own_ids:
                sched.send(sched.idx_at + nnz)
                indices = sched.idx_d
            else:
                sched.send(sched.items_at + n_items * ITEM_WIDTH)
                indices = kv_indices
                if self.use_cuda_graph:  # the page ids go to the graph's fixed buffer
                    indices = sched.idx_d if own_ids else self._indices_buffer
                    if nnz > indices.shape[0]:
                        raise ValueError(
                            f"use_cuda_graph: {nnz} page ids exceed the buffer capacity {indices.shape[0]}")
                    if nnz:
                        src = sched.host[sched.idx_at:sched.idx_at + nnz] if host_ids else kv_indices[:nnz]
                        indices[:nnz].copy_(src, non_blocking=True)
            sched.record()  # the last copy that reads the host buffer is queued
            if indptr_sort is not None:
                # into the plan's own copy: the schedule's page-id region / the graph's fixed buffer, which hold
                # a copy already, or a buffer of this wrapper when the ids are the caller's device tensor
                src = indices
                if indices is kv_indices:
                    if self._sorted_ids is None or self._sorted_ids.shape[0] < nnz:
                        self._sorted_ids = torch.empty(max(nnz, 1), dtype=torch.int32, device=self.device)
                    indices = self._sorted_ids
                _launch_sort(indices, src, sched.indptr_dev_ptr, batch, max_pages)
        if indptr_sort is not None and not self._on_gpu:
            indices = kv_indices[:nnz].clone()
            sort_request_pages_(indices, indices, np.asarray(indptr_sort))
        # the counters buffer: the split counters first (the kernel returns every counter it used to zero: one
        # buffer serves all later launches), then room for the first-tile page-id cache of up to num_sms CTAs (the
        # kernel's last grid x tile_n words; kernels/decode_sm90.py FIRST_IDS_HEAD_DIMS), invalidated below at every plan
        if self.use_cuda_graph:
            if self._graph_tmp is None:
                group = num_qo_heads // num_kv_heads
                self._graph_tmp = self._tmp(2 * num_sms * min(group, MAX_ROWS) + num_sms * TMP_ALIGN_ROWS, d)
                self._counters = torch.zeros(num_sms + num_sms * FIRST_IDS_CAP, dtype=torch.int32, device=self.device)
            tmp_o, tmp_lse = self._graph_tmp
            if work.tmp_rows > tmp_o.shape[0]:
                raise RuntimeError("decode schedule exceeds its CUDA-graph capacity (a bug in plan_decode_work)")
            grid = num_sms
        else:
            tmp_o, tmp_lse = self._tmp(max(work.tmp_rows, 1), d)
            need = max(work.num_splits, num_sms)
            if self._counters is None or self._counters.shape[0] < need + num_sms * FIRST_IDS_CAP:
                self._counters = torch.zeros(need + num_sms * FIRST_IDS_CAP, dtype=torch.int32, device=self.device)
            grid = work.num_ctas
        if self._on_gpu and grid:
            if grid > num_sms:
                raise RuntimeError(f"decode schedule of {grid} CTAs exceeds {num_sms} SMs (a bug in plan_decode_work)")
            sched.zero_tail(self._counters, grid * DECODE_TILES[d][0])
        plan = _Plan(spec, batch, num_qo_heads, num_kv_heads, page_size, scale * LOG2E, work, max_page_id,
                     indices, items, cta_ptr, tmp_o, tmp_lse, self._counters, grid)
        if _PTR_ARGS:  # the kernel's buffer arguments as addresses (kernels/decode_sm90.py PTR_ARGS), in call order
            plan.ptr_args = (indices.data_ptr(), items.data_ptr(), cta_ptr.data_ptr(), tmp_o.data_ptr(),
                             tmp_lse.data_ptr(), self._counters.data_ptr(), items.shape[0], tmp_o.shape[0])
        prev = self._plan
        if (prev is not None and prev.kernel is not None and max_page_id <= prev.max_page_id
                and (prev.spec is spec or prev.spec == spec) and prev.batch == batch
                and prev.num_qo_heads == num_qo_heads and prev.num_kv_heads == num_kv_heads and prev.page_size == page_size
                and (prev.kv_indices is indices or prev.kv_indices.get_device() == indices.get_device())):
            # the same geometry, and no page id beyond those the cache was checked for: the input
            # checks of the last plan still hold, and its LSE scratch fits
            plan.kernel, plan.lse, plan.lse_view, plan.checked = prev.kernel, prev.lse, prev.lse_view, prev.checked
        return plan

    def _tmp(self, rows: int, d: int) -> tuple[torch.Tensor, torch.Tensor]:
        nbytes = rows * (d + 1) * 4
        ws = self.workspace_buffer
        if ws is not None and ws.numel() >= nbytes + 16 and ws.is_contiguous():
            base = (-ws.data_ptr()) % 16
            flat = ws[base:base + nbytes].view(torch.float32)
            return flat[: rows * d].view(rows, d), flat[rows * d:]
        bufs = self._tmp_bufs
        if bufs is None or bufs[0].shape[0] < rows or bufs[0].shape[1] != d:
            bufs = self._tmp_bufs = (torch.empty(rows, d, dtype=torch.float32, device=self.device),
                                     torch.empty(rows, dtype=torch.float32, device=self.device))
        return bufs

    # ------------------------------------------------------------------------------------------ run

    def run(self, q: torch.Tensor, paged_kv_cache, out: torch.Tensor | None = None, return_lse: bool = False):
        """Returns ``out`` ``(batch, num_qo_heads, head_dim)`` and, with ``return_lse``, the
        natural-log LSE ``(batch, num_qo_heads)`` float32. The checks of shapes, strides, dtypes and
        devices run once per plan and input geometry; later calls with the same geometry only check
        the 16-byte alignment of the data pointers."""
        plan = self._plan
        if plan is None:
            raise RuntimeError("call plan() before run()")
        k_cache, v_cache, kv_geometry, kv_ptrs = self._unpack(paged_kv_cache)
        try:  # the geometry key, inline (torch attribute reads are ~0.1-0.25 us each on a serving host)
            q_dev = q.get_device()
            geometry = (q.shape, q.stride(), q.dtype, q_dev, kv_geometry,
                        None if out is None else (out.shape, out.stride(), out.dtype, out.get_device()))
        except AttributeError:  # not tensors: the full check names the argument
            geometry = None
        last = self._run_last  # the last checked (plan, geometry, views): a tuple compare, no hashing
        if last is not None and last[0] is plan and kv_geometry is not None and last[1] == geometry:
            views = last[2]
        else:
            views = plan.checked.get(geometry) if geometry is not None and kv_geometry is not None else None
            if views is None:
                views = self._check_run(plan, q, k_cache, v_cache, out)
                plan.checked[geometry] = views
            if kv_geometry is not None:
                self._run_last = (plan, geometry, views)
        if out is None:
            out = C.empty((plan.batch, plan.num_qo_heads, plan.spec.head_dim), q.dtype, q.device)
        # (kv_ptrs: k_cache's and v_cache's data pointers or'ed, read when the views were made)
        if (q.data_ptr() | kv_ptrs | out.data_ptr()) % C.ALIGN_BYTES:
            for name, t in (("q", q), ("k_cache", k_cache), ("v_cache", v_cache), ("out", out)):
                C.aligned_rows(name, t)
        if return_lse:
            lse = C.empty((plan.batch, plan.num_qo_heads), torch.float32, q.device)
            lse_arg = _kernel_view(lse)
        else:
            if plan.lse is None:
                plan.lse = C.empty((plan.batch, plan.num_qo_heads), torch.float32, q.device)
                plan.lse_view = _kernel_view(plan.lse)
            lse = plan.lse
            lse_arg = plan.lse_view
        if plan.batch:
            view_q, view_k, view_v, view_out = views
            if _PTR_ARGS:
                p = plan.ptr_args
                args = (
                    _kernel_view(q) if view_q else q, _kernel_view(k_cache) if view_k else k_cache,
                    _kernel_view(v_cache) if view_v else v_cache, p[0], p[1], p[2],
                    _kernel_view(out) if view_out else out, lse_arg, p[3], p[4], p[5], p[6], p[7], plan.grid,
                    plan.scale_log2,
                )
            else:
                args = (
                    _kernel_view(q) if view_q else q, _kernel_view(k_cache) if view_k else k_cache,
                    _kernel_view(v_cache) if view_v else v_cache, plan.kv_indices, plan.items, plan.cta_ptr,
                    _kernel_view(out) if view_out else out, lse_arg, plan.tmp_o, plan.tmp_lse,
                    plan.counters, plan.grid, plan.scale_log2,
                )
            if q_dev == _current_device():
                plan.kernel(*args)
            else:
                with torch.cuda.device(q.device):
                    plan.kernel(*args)
        return (out, lse) if return_lse else out

    def _unpack(self, paged_kv_cache):
        """(k_cache, v_cache, their geometry or None, their data pointers or'ed), the views kept while run()
        is handed the same cache tensor(s) at the same address and shape (a layer loop over one stacked cache, or a
        decode loop over the same per-layer caches, then skips the slicing and its checks)."""
        seen = self._kv_seen
        if seen is not None:  # the common cases without generators: one stacked tensor, or a (k, v) pair
            objs, ptrs, shapes = seen[0], seen[1], seen[2]
            if len(objs) == 1:
                if (paged_kv_cache is objs[0] and paged_kv_cache.data_ptr() == ptrs[0]
                        and paged_kv_cache.shape == shapes[0]):
                    return seen[3]
            elif (type(paged_kv_cache) is tuple and len(paged_kv_cache) == 2 and paged_kv_cache[0] is objs[0]
                  and paged_kv_cache[1] is objs[1] and objs[0].data_ptr() == ptrs[0] and objs[1].data_ptr() == ptrs[1]
                  and objs[0].shape == shapes[0] and objs[1].shape == shapes[1]):
                return seen[3]
        objs = (paged_kv_cache,) if isinstance(paged_kv_cache, torch.Tensor) else paged_kv_cache
        k_cache, v_cache = unpack_paged_kv_cache(paged_kv_cache, self.kv_layout)
        kg, vg = _geometry(k_cache), _geometry(v_cache)
        geometry = None if kg is None or vg is None else (kg, vg)
        entry = (k_cache, v_cache, geometry, 1 if geometry is None else k_cache.data_ptr() | v_cache.data_ptr())
        if isinstance(objs, tuple) and all(isinstance(o, torch.Tensor) for o in objs):
            self._kv_seen = (objs, tuple(o.data_ptr() for o in objs), tuple(o.shape for o in objs), entry)
        return entry

    def _check_run(self, plan: _Plan, q, k_cache, v_cache, out) -> tuple[bool, ...]:
        """Full validation of one input geometry; returns which tensors need a kernel view."""
        d = plan.spec.head_dim
        C.tensor("q", q, ndim=3)
        dtype = C.value_dtype("q", q)
        if dtype != plan.spec.dtype:
            raise TypeError(f"q has dtype {q.dtype} but the plan was made for {plan.spec.dtype}")
        C.shape("q", q, (plan.batch, plan.num_qo_heads, d))
        C.same_dtype("q", q, k_cache=k_cache)
        check_paged_cache(k_cache, plan.page_size, plan.num_kv_heads, d, plan.max_page_id, self.kv_layout)
        tensors = {"q": q, "k_cache": k_cache, "v_cache": v_cache}
        if out is not None:
            C.tensor("out", out, ndim=3)
            C.same_dtype("q", q, out=out)
            C.shape("out", out, (plan.batch, plan.num_qo_heads, d))
            C.distinct_elements("out", out)
            tensors["out"] = out
        for name, t in tensors.items():
            C.aligned_rows(name, t)
        C.cuda_device(**tensors, kv_indices=plan.kv_indices)
        if plan.kernel is None:
            plan.kernel = get_kernel(plan.spec)
        # a fresh out has torch's contiguous strides, like q's when q is contiguous
        if len(plan.checked) >= 16:
            plan.checked.clear()
        # a fresh out has strides (num_qo_heads * head_dim, head_dim, 1): no view needed
        return tuple(t is not None and _kernel_view(t) is not t for t in (q, k_cache, v_cache, out))


_SPECS: dict = {}


def _decode_spec(q_data_type: torch.dtype, head_dim: int) -> DecodeSpec:
    key = (q_data_type, head_dim)
    spec = _SPECS.get(key)
    if spec is None:
        spec = _SPECS[key] = DecodeSpec(dtype=C.VALUE_DTYPES[q_data_type], head_dim=head_dim)
    return spec


_DYN_SPECS: dict = {}


def _dyn_spec(spec: DecodeSpec) -> DecodeSpec:
    """The run-time-H variant (``dyn_heads``) of ``spec``'s dtype and head dim: what CUDA-graph mode captures
    (``GRAPH_ITEM_HEADS``) and eager plans of the mixed pass run; ``spec`` where the head dim has none."""
    if spec.head_dim not in ITEM_HEADS_HEAD_DIMS:
        return spec
    g = _DYN_SPECS.get(spec)
    if g is None:
        g = _DYN_SPECS[spec] = dataclasses.replace(spec, dyn_heads=True)
    return g


def _max_item_heads(spec: DecodeSpec, graph: bool) -> int:
    """The largest kv heads per item a plan may use: ``MAX_ITEM_HEADS``, in CUDA-graph mode only when the captured
    variant reads them at run time (``dyn_heads``), else 1."""
    return MAX_ITEM_HEADS if not graph or spec.dyn_heads else 1


_ONE_ITEM_SPECS: dict = {}


def _one_item_spec(spec: DecodeSpec, item_heads: int = 1) -> DecodeSpec:
    """The variant of ``spec`` for plans in which every CTA runs one work item, or (``item_heads`` > 1) for plans of
    items of that many kv heads (at the one-item stage count where the head dim has one, else its default)."""
    key = (spec, item_heads)
    one = _ONE_ITEM_SPECS.get(key)
    if one is None:
        one = _ONE_ITEM_SPECS[key] = dataclasses.replace(spec, stages=DECODE_ONE_ITEM_STAGES.get(spec.head_dim, 0),
                                                         item_heads=item_heads)
    return one


def _host_int32(t) -> bool:
    """A 1-D contiguous int32 CPU tensor (what the compiled planner reads by pointer)."""
    return isinstance(t, torch.Tensor) and t.dtype is torch.int32 and t.is_cpu and t.ndim == 1 and t.is_contiguous()


def _geometry(t) -> tuple | None:
    if not isinstance(t, torch.Tensor):
        return None
    return t.shape, t.stride(), t.dtype, t.device


def _kernel_view(t: torch.Tensor) -> torch.Tensor:
    """The same elements with stride 0 on size-1 dims but the last: the kernels declare strides as
    multiples of 8 elements, and torch leaves the stride of a size-1 dim arbitrary."""
    lead = list(zip(t.shape[:-1], t.stride()[:-1]))
    if all(n != 1 or s % 8 == 0 for n, s in lead):
        return t
    strides = [0 if n == 1 else s for n, s in lead] + [t.stride(-1)]
    return t.as_strided(t.shape, strides, t.storage_offset())
