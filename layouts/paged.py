"""The paged-KV map: logical KV row ``r`` of request ``b`` -> element offset in a paged cache.

A CSR page table (``kv_indptr``, ``kv_indices``) and ``page_size`` define, for each request, the map

    offset(b, r) = kv_indices[kv_indptr[b] + r // page_size] * page_stride + (r % page_size) * row_stride

(plus ``head * head_stride + col`` inside a row). It is the layout of a gathered K/V tile: for
``page_size == 1`` every row has its own address (vector sparsity); when ``page_size`` is a multiple of
the KV tile, a whole tile lies in one page and is one TMA box with the page id as a coordinate.

The functions here are written once with operators that both Python ints / torch tensors and the DSL's
integer values support (``//``, ``%``, ``*``, ``+``, indexing), so the same definition is evaluated on the
host (tests, the reference) and traced inside kernels. Keep them free of Python control flow on values.
"""

from __future__ import annotations


def page_slot(kv_indices, kv_indptr, b, r, page_size):
    """``(page id, slot in page)`` of logical row ``r`` of request ``b``."""
    return kv_indices[kv_indptr[b] + r // page_size], r % page_size


def row_offset(kv_indices, kv_indptr, b, r, page_size, page_stride, row_stride):
    """Element offset of logical row ``r`` of request ``b`` (head 0, column 0)."""
    page, slot = page_slot(kv_indices, kv_indptr, b, r, page_size)
    return page * page_stride + slot * row_stride


def cache_strides(cache_shape, cache_stride, kv_layout: str = "NHD"):
    """``(page_stride, row_stride, head_stride)`` of a cache tensor in either layout.

    NHD caches are ``(num_pages, page_size, num_kv_heads, head_dim)``; HND caches
    ``(num_pages, num_kv_heads, page_size, head_dim)``. The last dim must be contiguous.
    """
    if cache_stride[-1] != 1:
        raise ValueError(f"the cache's last dim must be contiguous, got strides {tuple(cache_stride)}")
    if kv_layout == "NHD":
        return cache_stride[0], cache_stride[1], cache_stride[2]
    if kv_layout == "HND":
        return cache_stride[0], cache_stride[2], cache_stride[1]
    raise ValueError(f"kv_layout must be 'NHD' or 'HND', got {kv_layout!r}")


# Rows of one TMA box of the paged K/V loads, largest first: a box must lie inside one page (its rows are
# consecutive slots) and divide the key tile, so the TMA path serves the page sizes that are multiples of one;
# the others take the cp.async gathers. Fewer, taller boxes cost the producer warp fewer instructions (measured,
# NOTES-prefill-paged.md section 5: 64-row boxes +3 % over 16-row ones at page 64).
TMA_BOX_ROWS = (64, 16)


def tma_box_rows(page_size: int, tile_n: int) -> int:
    """Box height of the TMA path for ``page_size`` rows per page and key tiles of ``tile_n`` rows; 0: gathers."""
    return next((b for b in TMA_BOX_ROWS if page_size % b == 0 and tile_n % b == 0), 0)


# The interleaved K/V boxes (bench/NOTES-prefill-paged.md 20): at head dims wider than one 128-byte swizzle row
# (hd128, hd256 at 16 bits), a page piece of a TMA box is loaded as (64 columns, 8 rows, column halves, 8-row groups)
# in one box; the cache's rows are addressed as 8-row groups of the row stride, group = page * groups per page +
# slot / 8, which needs the page stride to be a whole number of 8 row strides (NHD and HND caches, stacked or
# padded, are).
SWIZZLE_ROWS = 8
SWIZZLE_ROW_BYTES = 128


def kv_interleaved(head_dim: int, box_rows: int, elem_bytes: int = 2) -> bool:
    """Whether the TMA-box path (``box_rows > 0``) loads a page piece as one box over all column halves."""
    return box_rows > 0 and head_dim * elem_bytes > SWIZZLE_ROW_BYTES


def kv_grouped(head_dim: int, box_rows: int, elem_bytes: int = 2) -> bool:
    """Whether the TMA-box path addresses the cache's rows as 8-row groups (``interleaved_group``): the interleaved
    variants, and those whose rows are one 128-byte swizzle row (hd64 at 16 bits: one column half, the stage layout
    unchanged). These need ``page_groups_whole`` of the cache."""
    return box_rows > 0 and head_dim * elem_bytes >= SWIZZLE_ROW_BYTES


def page_groups(page_stride, row_stride):
    """8-row groups (of the row stride) per page: the group coordinate's step from one page to the next."""
    return page_stride // (SWIZZLE_ROWS * row_stride)


def page_groups_whole(page_stride, row_stride) -> bool:
    """The interleaved boxes' requirement on a cache: the page stride is a whole number of 8 row strides."""
    return page_stride % (SWIZZLE_ROWS * row_stride) == 0


def interleaved_group(page, slot, groups_per_page):
    """Group coordinate of the 8 rows starting at ``slot`` (a multiple of 8) of page ``page``."""
    return page * groups_per_page + slot // SWIZZLE_ROWS


def box_page_slot(kv_indices, kv_indptr, b, first_row, page_size):
    """``(page id, first slot)`` of the TMA box holding logical rows ``[first_row, first_row + box_rows)`` of
    request ``b``. With ``page_size % box_rows == 0`` and ``first_row % box_rows == 0`` the box lies in one
    page: its rows are the slots ``first slot + i`` of that page (rows past the request's end included, which
    the caller clamps, masks or zero-fills)."""
    return page_slot(kv_indices, kv_indptr, b, first_row, page_size)
