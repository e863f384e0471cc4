"""layouts/: the paged-KV map evaluated on the host against the reference page walk."""

import pytest
import torch

from cute_attn import reference as R
from cute_attn.layouts import paged
from pages import random_page_table


@pytest.mark.parametrize("page_size", [1, 2, 16, 64, 128])
@pytest.mark.parametrize("kv_layout", ["NHD", "HND"])
def test_row_offset_matches_page_walk(rng, page_size, kv_layout):
    kv_lens = [0, 1, 113, 300, 64]
    hk, d = 3, 16
    num_pages, indptr, indices, last = random_page_table(rng, kv_lens, page_size)
    shape = (num_pages, page_size, hk, d) if kv_layout == "NHD" else (num_pages, hk, page_size, d)
    cache = torch.arange(num_pages * page_size * hk * d).reshape(shape)
    page_stride, row_stride, head_stride = paged.cache_strides(cache.shape, cache.stride(), kv_layout)
    flat = cache.reshape(-1)
    nhd = cache if kv_layout == "NHD" else cache.transpose(1, 2)
    walk = R.paged_row_map(indptr, indices, last, page_size)
    for b, rows in enumerate(walk):
        for r, (page, slot) in enumerate(rows):
            assert paged.page_slot(indices, indptr, b, r, page_size) == (page, slot)
            off = paged.row_offset(indices, indptr, b, r, page_size, page_stride, row_stride)
            for h in (0, hk - 1):
                got = flat[off + h * head_stride: off + h * head_stride + d]
                assert torch.equal(got, nhd[page, slot, h])


def test_row_offset_vectorized_over_rows(rng):
    """The same definition evaluated on whole tensors of row indices (as a kernel evaluates it per lane)."""
    page_size = 16
    num_pages, indptr, indices, last = random_page_table(rng, [100], page_size)
    r = torch.arange(100)
    off = paged.row_offset(indices.long(), indptr.long(), 0, r, page_size, 1000, 10)
    walk = R.paged_row_map(indptr, indices, last, page_size)[0]
    assert off.tolist() == [p * 1000 + s * 10 for p, s in walk]


def test_cache_strides_rejects_bad_input():
    with pytest.raises(ValueError, match="contiguous"):
        paged.cache_strides((2, 16, 2, 8), (512, 32, 8, 2))
    with pytest.raises(ValueError, match="kv_layout"):
        paged.cache_strides((2, 16, 2, 8), (256, 16, 8, 1), "NDH")


@pytest.mark.parametrize("page_size", [16, 32, 48, 64, 128, 256])
@pytest.mark.parametrize("tile_n", [80, 112, 128])
def test_tma_boxes_match_page_walk(rng, page_size, tile_n):
    """Every box of every key block (the TMA path: tile_n / box_rows boxes per block) lies in one page, its
    rows the page walk's rows."""
    box = paged.tma_box_rows(page_size, tile_n)
    assert box and page_size % box == 0 and tile_n % box == 0
    assert box == (64 if page_size % 64 == 0 and tile_n % 64 == 0 else 16)
    kv_lens = [1, 15, 16, 113, 300, 1024]
    num_pages, indptr, indices, last = random_page_table(rng, kv_lens, page_size)
    walk = R.paged_row_map(indptr, indices, last, page_size)
    for b, n in enumerate(kv_lens):
        for first in range(0, n, box):  # the boxes of blocks 0 .. (n - 1) // tile_n, in block order
            assert (first // tile_n) * tile_n + (first % tile_n) // box * box == first
            page, slot = paged.box_page_slot(indices, indptr, b, first, page_size)
            for i in range(min(box, n - first)):
                assert walk[b][first + i] == (int(page), int(slot) + i)
            assert slot + box <= page_size


@pytest.mark.parametrize("page_size", [1, 2, 3, 8, 24, 100])
def test_tma_box_rows_gathers_the_other_page_sizes(page_size):
    assert paged.tma_box_rows(page_size, 128) == 0


@pytest.mark.parametrize("kv_layout,page_size,heads,d,pad", [("NHD", 16, 4, 128, 0), ("HND", 16, 2, 256, 0),
                                                              ("NHD", 64, 1, 128, 64), ("HND", 32, 3, 128, 0)])
def test_interleaved_group_address_equals_page_walk(kv_layout, page_size, heads, d, pad):
    """The interleaved TMA boxes' row address (8-row group of the row stride, then the row inside it) is the page
    walk's (page * page_stride + slot * row_stride) for caches whose page stride is whole groups."""
    pages = 5
    shape = (pages, page_size, heads, d + pad) if kv_layout == "NHD" else (pages, heads, page_size, d + pad)
    cache = torch.empty(shape)[..., :d]
    page_stride, row_stride, _ = paged.cache_strides(cache.shape, cache.stride(), kv_layout)
    assert paged.page_groups_whole(page_stride, row_stride)
    per_page = paged.page_groups(page_stride, row_stride)
    for page in range(pages):
        for slot in range(page_size):
            group = paged.interleaved_group(page, slot - slot % paged.SWIZZLE_ROWS, per_page)
            walk = page * page_stride + slot * row_stride
            assert group * paged.SWIZZLE_ROWS * row_stride + (slot % paged.SWIZZLE_ROWS) * row_stride == walk
    assert not paged.page_groups_whole(16 * row_stride + 8, row_stride)  # a page stride off the groups
    assert paged.kv_interleaved(d, 16) and not paged.kv_interleaved(64, 16) and not paged.kv_interleaved(d, 0)
    # the grouped view (the chunked box producer): the interleaved variants and one-half rows (hd64 at 16 bits)
    assert paged.kv_grouped(d, 16) and paged.kv_grouped(64, 16) and paged.kv_grouped(64, 64)
    assert not paged.kv_grouped(32, 16) and not paged.kv_grouped(64, 0) and not paged.kv_grouped(64, 16, 1)


def test_item_lag_bit_leaves_the_heads_field():
    """Item.HEADS_LOG2 carries log2 H in its low bits (HEADS_LOG2_MASK) and the CUDA-graph one-item mark in bit
    ITEM_LAG_BIT (session 25): the largest H fits under the mask, and the mark lies above it."""
    from cute_attn.layouts.decode_work import HEADS_LOG2_MASK, ITEM_HEADS, ITEM_LAG_BIT

    assert (max(ITEM_HEADS).bit_length() - 1) & ~HEADS_LOG2_MASK == 0
    assert (1 << ITEM_LAG_BIT) & HEADS_LOG2_MASK == 0 and 1 << ITEM_LAG_BIT > HEADS_LOG2_MASK
