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
