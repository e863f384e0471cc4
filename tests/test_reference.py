"""The references against naive per-element loops, and against each other."""

import math

import pytest
import torch

from cute_attn import reference as R
from pages import random_page_table


def naive_attention(q, k, v, causal, scale):
    """Per query, per head: explicit loops in float64."""
    q_len, hq, _ = q.shape
    kv_len, hk, dv = v.shape
    out = torch.zeros(q_len, hq, dv, dtype=torch.float64)
    lse = torch.full((q_len, hq), float("-inf"), dtype=torch.float64)
    for i in range(q_len):
        for h in range(hq):
            kh = h // (hq // hk)
            keys = [j for j in range(kv_len) if not causal or j <= i + kv_len - q_len]
            if not keys:
                continue
            s = [scale * float(q[i, h].double() @ k[j, kh].double()) for j in keys]
            m = max(s)
            w = [math.exp(x - m) for x in s]
            tot = sum(w)
            lse[i, h] = m + math.log(tot)
            for wj, j in zip(w, keys):
                out[i, h] += wj / tot * v[j, kh].double()
    return out, lse


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("q_len,kv_len,hq,hk", [(5, 5, 2, 2), (3, 7, 4, 1), (6, 4, 4, 2), (1, 9, 8, 2)])
def test_attention_matches_loops(rng, causal, q_len, kv_len, hq, hk):
    q = torch.randn(q_len, hq, 8, generator=rng)
    k = torch.randn(kv_len, hk, 8, generator=rng)
    v = torch.randn(kv_len, hk, 4, generator=rng)
    out, lse = R.attention(q, k, v, causal=causal, sm_scale=0.3)
    ref_out, ref_lse = naive_attention(q, k, v, causal, 0.3)
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(lse, ref_lse)


def test_causal_row_with_no_key_is_zero_and_minus_inf(rng):
    # q_len > kv_len: bottom-right alignment leaves the first rows with no key
    q = torch.randn(5, 1, 8, generator=rng)
    k = torch.randn(2, 1, 8, generator=rng)
    v = torch.randn(2, 1, 8, generator=rng)
    out, lse = R.attention(q, k, v, causal=True)
    assert torch.all(out[:3] == 0) and torch.all(torch.isneginf(lse[:3]))
    assert torch.isfinite(lse[3:]).all()


def test_default_scale_is_rsqrt_head_dim(rng):
    q, k, v = (torch.randn(3, 1, 16, generator=rng) for _ in range(3))
    a, _ = R.attention(q, k, v)
    b, _ = R.attention(q, k, v, sm_scale=0.25)
    torch.testing.assert_close(a, b)


def test_ragged_matches_per_request_and_skips_empty(rng):
    qo = [0, 3, 3, 8, 9]
    kv = [0, 4, 6, 6, 11]  # request 1 has no query, request 2 has no key
    q = torch.randn(9, 4, 8, generator=rng)
    k = torch.randn(11, 2, 8, generator=rng)
    v = torch.randn(11, 2, 8, generator=rng)
    out, lse = R.ragged_attention(q, k, v, qo, kv, causal=True)
    for b in range(4):
        if qo[b + 1] == qo[b]:
            continue
        o_b, l_b = naive_attention(q[qo[b]:qo[b + 1]], k[kv[b]:kv[b + 1]], v[kv[b]:kv[b + 1]], True, 1 / math.sqrt(8))
        torch.testing.assert_close(out[qo[b]:qo[b + 1]], o_b)
        torch.testing.assert_close(lse[qo[b]:qo[b + 1]], l_b)
    assert torch.all(out[3:8] == 0) and torch.all(torch.isneginf(lse[3:8]))


@pytest.mark.parametrize("page_size", [1, 3, 16])
@pytest.mark.parametrize("layout", ["NHD", "HND"])
def test_paged_attention_equals_ragged_on_gathered_rows(rng, page_size, layout):
    kv_lens = [5, 0, 17, 1]
    num_pages, indptr, indices, last = random_page_table(rng, kv_lens, page_size)
    hk, d = 2, 8
    k_rows = torch.randn(sum(kv_lens), hk, d, generator=rng)
    v_rows = torch.randn(sum(kv_lens), hk, d, generator=rng)
    k_cache = torch.full((num_pages, page_size, hk, d), float("nan"))
    v_cache = torch.full((num_pages, page_size, hk, d), float("nan"))
    # write rows by an explicit page walk
    r = 0
    for b, n in enumerate(kv_lens):
        for t in range(n):
            page = int(indices[int(indptr[b]) + t // page_size])
            k_cache[page, t % page_size] = k_rows[r]
            v_cache[page, t % page_size] = v_rows[r]
            r += 1
    if layout == "HND":
        k_cache, v_cache = k_cache.transpose(1, 2).contiguous(), v_cache.transpose(1, 2).contiguous()
    assert R.paged_kv_lengths(indptr, last, page_size) == kv_lens
    qo = [0, 2, 3, 8, 9]
    q = torch.randn(9, 4, d, generator=rng)
    kv_indptr = [0] + torch.tensor(kv_lens).cumsum(0).tolist()
    out, lse = R.paged_attention(q, k_cache, v_cache, qo, indptr, indices, last, causal=True, kv_layout=layout)
    ref_out, ref_lse = R.ragged_attention(q, k_rows, v_rows, qo, kv_indptr, causal=True)
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(lse, ref_lse)


def test_merge_of_split_keys_equals_full_attention(rng):
    q = torch.randn(6, 2, 8, generator=rng)
    k = torch.randn(10, 2, 8, generator=rng)
    v = torch.randn(10, 2, 8, generator=rng)
    full_o, full_s = R.attention(q, k, v)
    a_o, a_s = R.attention(q, k[:4], v[:4])
    b_o, b_s = R.attention(q, k[4:], v[4:])
    o, s = R.merge_state(a_o, a_s, b_o, b_s)
    torch.testing.assert_close(o, full_o)
    torch.testing.assert_close(s, full_s)
    parts = [R.attention(q, k[i:j], v[i:j]) for i, j in ((0, 3), (3, 3), (3, 7), (7, 10))]  # one part empty
    o, s = R.merge_states(torch.stack([p[0] for p in parts], 1), torch.stack([p[1] for p in parts], 1))
    torch.testing.assert_close(o, full_o)
    torch.testing.assert_close(s, full_s)


def test_merge_all_empty_gives_zero_and_minus_inf():
    v = torch.randn(3, 2, 4, 8)
    s = torch.full((3, 2, 4), float("-inf"))
    o, lse = R.merge_states(v, s)
    assert torch.all(o == 0) and torch.all(torch.isneginf(lse))


def test_append_reference_and_batch_indices_positions(rng):
    page_size, hk, d = 4, 2, 8
    old_lens, new_lens = [3, 0, 6], [2, 5, 0]
    final = [a + b for a, b in zip(old_lens, new_lens)]
    num_pages, indptr, indices, last = random_page_table(rng, final, page_size)
    append_indptr = torch.tensor([0, 2, 7, 7], dtype=torch.int32)
    bi, pos = R.batch_indices_positions(append_indptr, final)
    assert bi.tolist() == [0, 0, 1, 1, 1, 1, 1]
    assert pos.tolist() == [3, 4, 0, 1, 2, 3, 4]
    k_new = torch.randn(7, hk, d, generator=rng)
    v_new = torch.randn(7, hk, d, generator=rng)
    k_cache = torch.zeros(num_pages, page_size, hk, d)
    v_cache = torch.zeros(num_pages, page_size, hk, d)
    R.append_paged_kv_cache(k_new, v_new, bi, pos, k_cache, v_cache, indices, indptr)
    rows = R.paged_row_map(indptr, indices, last, page_size)
    for i, (b, p) in enumerate(zip(bi.tolist(), pos.tolist())):
        page, slot = rows[b][p]
        torch.testing.assert_close(k_cache[page, slot], k_new[i])
        torch.testing.assert_close(v_cache[page, slot], v_new[i])


def test_mla_decode_matches_loops(rng):
    heads, page_size = 4, 2
    kv_lens = [3, 5]
    num_pages, indptr, indices, last = random_page_table(rng, kv_lens, page_size)
    q_nope = torch.randn(2, heads, 512, generator=rng)
    q_pe = torch.randn(2, heads, 64, generator=rng)
    ckv = torch.randn(num_pages, page_size, 512, generator=rng)
    kpe = torch.randn(num_pages, page_size, 64, generator=rng)
    scale = 1 / math.sqrt(576)
    out, lse = R.mla_decode(q_nope, q_pe, ckv, kpe, indptr, indices, last, scale)
    rows = R.paged_row_map(indptr, indices, last, page_size)
    for b in range(2):
        keys = torch.stack([torch.cat([ckv[p, s], kpe[p, s]]) for p, s in rows[b]]).double()
        vals = torch.stack([ckv[p, s] for p, s in rows[b]]).double()
        for h in range(heads):
            s = scale * (keys @ torch.cat([q_nope[b, h], q_pe[b, h]]).double())
            torch.testing.assert_close(lse[b, h], torch.logsumexp(s, 0))
            torch.testing.assert_close(out[b, h], torch.softmax(s, 0) @ vals)
