"""Decode work items: the contract between the host planner (``cute_attn.decode``) and the kernel
(``kernels/decode_sm90.py``). Pure Python (no DSL), so both sides import it.

A work item is one row of an int32 table ``(num_items, ITEM_WIDTH)``: one CTA pass over KV rows
``[kv_start, kv_end)`` of request ``batch`` and kv head ``kv_head``, for query heads
``[head0, head0 + rows)`` packed into the M rows of a 64-row tile (``rows <= MAX_ROWS``). KV row ``r``
of the request lives at ``kv_indices[page_base + r // page_size]``, slot ``r % page_size``.

``merge_id < 0``: the item covers the whole request and writes the final output and LSE. Otherwise
it is part ``part`` of ``num_parts`` of a split: it writes its partial state (normalized O in
float32, LSE in the log2 domain) to rows ``tmp_base + part * rows + i`` of the workspace, and the
last part to finish (counted in ``counters[merge_id]``) merges all parts into the output.
"""

from __future__ import annotations

import enum

ITEM_WIDTH = 12
MAX_ROWS = 64  # query heads packed into one wgmma M tile


class Item(enum.IntEnum):
    BATCH = 0
    KV_HEAD = 1
    HEAD0 = 2
    ROWS = 3
    KV_START = 4
    KV_END = 5
    PAGE_BASE = 6
    MERGE_ID = 7
    PART = 8
    NUM_PARTS = 9
    TMP_BASE = 10
    HEADS_LOG2 = 11  # log2 of the kv heads of an item (0: one; layouts/decode_work.py ITEM_HEADS)


# head_dim -> (KV rows per pipeline stage, pipeline stages): 32 KB of K+V per stage in bf16/fp16,
# 128 KB of KV in flight per SM (5 stages measured no faster).
DECODE_TILES = {64: (128, 4), 128: (64, 4), 256: (32, 4)}
# head_dim -> pipeline stages of the variant that plans in which every CTA runs one work item use (1 x 32k, 8 x 32k,
# 16 x 16k: splits or one whole sequence per CTA). Session 14 (H100, one process, bf16 hd128, 3 vs 4 stages, same
# plans, outputs bit-identical): one item per CTA +0.5-1.7 % (1 x 32k +1.0-1.5 %, 8 x 32k +0.5-1.7 %, 16 x 16k page 16
# +0.6-1.5 %, page 1 -0.3..+0.2 %), but 128 x 1k (8 items per CTA) -0.1..-1.8 % and 64 x 4k page 16 -0.6..+0.3 %:
# 12 MB of KV in flight over the chip instead of 16 MB shortens the DRAM queues while the CTAs stream, and a CTA's
# item transitions want the deeper pipeline. 2 stages: -13..-25 %; 5: -0..-1.6 % (bench/NOTES-decode.md, session 14).
# hd64 (session 25 call 8, one process, bf16, 3 vs 4 stages on the plans eager runs): 16 x 16k / 1 x 32k / 8 x 32k
# +0.2..+2.0 %, 64 x 4k (items of 4 kv heads) +0.6 / +1.1 %, 128 x 1k (items of 8) +1.5 / +2.2 % (session 20 had
# measured hd64's 3 stages on plans of several items per CTA only, a trade). hd256 (call 11): 3 stages -2.5..+0.8 % on its
# one-item plans (32-row stages: 96 rows in flight are too few per CTA): one variant.
DECODE_ONE_ITEM_STAGES = {64: 3, 128: 3}
# Work items of H adjacent kv heads of one request (session 23): a plan whose CTAs would each run k > 1 whole sequences
# (no split; 64 x 4k: 4, 128 x 1k: 8 of 8 kv heads) runs k / H items of H kv heads each instead, H the largest of
# ITEM_HEADS dividing k and num_kv_heads with H x group <= 64 query rows (one M tile). A key tile then holds tile_n / H
# tokens x H heads (token-major), the other heads' columns masked per query row (kernels/decode_sm90.py). The item
# transitions are gone (one item per CTA when H = k) and the plan runs on the one-item stage count. H100, one process
# (session 23 call 2, bf16 hd128, 32 q / 8 kv heads, both flushes): 64 x 4k H = 4 +0.9..+1.9 %, 128 x 1k H = 8
# +2.1..+3.1 % (H = 4, two items per CTA: +1.3..+2.1 %) over the multi-item plans, control +-0.2 %; hd64 (call 5, 4
# stages: it has no one-item stage count) 64 x 4k H = 4 +1.7..+3.3 %, 128 x 1k H = 8 +4.3..+5.3 %. Shipped for these head
# dims only (variants ``item_heads`` H at the head dim's DECODE_ONE_ITEM_STAGES stages, else its default; hd256, already
# above cuDNN on those plans, not measured). CUDA-graph mode (session 24) captures the variant that reads each item's H
# from Item.HEADS_LOG2 at run time (``dyn_heads``), whose one launch serves every replanned batch.
ITEM_HEADS = (8, 4, 2)
ITEM_HEADS_HEAD_DIMS = (64, 128)
# Item.HEADS_LOG2 holds log2 H in its low bits (HEADS_LOG2_MASK); bit ITEM_LAG_BIT (the run-time-H variant only, set by
# cute_attn/decode.py on CUDA-graph plans of one item per CTA, GRAPH_ONE_ITEM_LAG) makes the producer keep one KV stage
# fewer in flight: the captured 4-stage kernel then streams those plans as the 3-stage one-item variant does (session 25).
HEADS_LOG2_MASK = 15
ITEM_LAG_BIT = 4
# plan(sort_pages=True): page ids per CTA of the sort kernel (kernels/sort_pages.py); a request with more pages is
# sorted in chunks of this many, each ascending (a power of two, a multiple of the kernel's 1024 threads; 64 KiB of
# shared memory). Session 12: chunks of 2048 kept only part of the gain at 16k-page requests (call 14), since what pays
# is a request's consecutive pages falling in the same 2 MiB of the cache
SORT_PAGES_CHUNK = 16384
DECODE_HEAD_DIMS = tuple(DECODE_TILES)
# The counters buffer of a decode plan (cute_attn/decode.py): the split counters, then per CTA of up to num_sms a tile of
# first-tile page-id words for the kernel's cache across runs (kernels/decode_sm90.py FIRST_IDS_HEAD_DIMS): the kernel
# uses the buffer's last grid x tile_n words, so the room per CTA is the largest tile.
FIRST_IDS_CAP = max(rows for rows, _ in DECODE_TILES.values())
# Columns of the decode kernel's TRACE build stamps (kernels/decode_sm90.py TRACE; read by bench/decode_trace.py), per
# item k = it - item_begin < TRACE_ITEMS (session 22): TRACE_EPI + k the consumer's epilogue start, TRACE_FIRST + k its
# first KV tile and Q both landed, TRACE_ISSUE + k the producer's first tile of the item issued, TRACE_KV + k the consumer
# past the first KV tile's wait (before the Q wait); all < 64 (hd64's tmp_o rows). At head_dim >= 128 only: TRACE_PEND +
# k the producer after item k's last tile's commit, TRACE_PPRE + k / TRACE_PACQ + k just before / past the first tile's
# acquire of item k.
TRACE_ITEMS, TRACE_EPI, TRACE_FIRST, TRACE_ISSUE, TRACE_KV = 10, 20, 30, 40, 50
TRACE_PEND, TRACE_PACQ, TRACE_PPRE = 60, 70, 80
TRACE_COLS = TRACE_PPRE + TRACE_ITEMS
