"""Decode tail pool (A/B, session 27): the host side of ``cute_attn.decode.pool_plan`` (CPU, no GPU).

The kernel takes a pooled split's micro-parts at run time; whichever CTA runs micro-part u, it covers the same key rows
and writes the same workspace rows. So the plan is checked here in its expanded form: every micro-part as an item of its
own (``expand``), which must cover every key row of every query head exactly once, number the split's parts 0..n-1 in
disjoint workspace rows, and emulate (``test_decode_plan.emulate``) to the paged reference.
"""

import numpy as np
import pytest
import torch

import cute_attn
import cute_attn.decode as D
from cute_attn import reference as R
from cute_attn.decode import TMP_ALIGN_ROWS, plan_decode_work, pool_plan
from cute_attn.layouts.decode_work import POOL_BIT, Item, PoolDesc
from test_decode_plan import emulate

SMS = 132


def expand(pooled: D.DecodeWork) -> D.DecodeWork:
    """The pooled plan with every micro-part as an item (one CTA each after the main parts), descriptor rows dropped."""
    n = pooled.num_ctas
    items = pooled.items[:n]
    rows = [items]
    for it in items[(items[:, Item.HEADS_LOG2] >> POOL_BIT) & 1 == 1]:
        if it[Item.PART] != 0:
            continue  # one expansion per split
        desc = pooled.items[n + it[Item.MERGE_ID]]
        for u in range(desc[PoolDesc.TILES]):
            micro = it.copy()
            micro[Item.KV_START] = desc[PoolDesc.START] + u * TILE_N
            micro[Item.KV_END] = min(desc[PoolDesc.START] + (u + 1) * TILE_N, desc[PoolDesc.END])
            micro[Item.PART] = desc[PoolDesc.PART0] + u
            micro[Item.HEADS_LOG2] = 0
            rows.append(micro[None])
    flat = np.concatenate(rows)
    return D.DecodeWork(flat, np.arange(len(flat) + 1, dtype=np.int32), pooled.num_splits // 2, pooled.tmp_rows)


TILE_N = 64  # hd128's key tile (layouts/decode_work.py DECODE_TILES)


def check_pooled(kv_lens, hq, hk, k, sms=SMS, d=128):
    page_base = np.arange(len(kv_lens)) * 1000
    w = plan_decode_work(np.array(kv_lens), page_base, hq, hk, d, sms)
    pooled = pool_plan(w, D.DECODE_TILES[d][0], k, len(w.items) + w.num_splits)
    assert pooled is not None
    n, S = w.num_ctas, w.num_splits
    assert pooled.num_ctas == n and pooled.items.shape == (n + S, w.items.shape[1]) and pooled.num_splits == 2 * S
    assert np.array_equal(pooled.cta_ptr, w.cta_ptr)
    main = pooled.items[:n]
    # the fields the kernel does not re-plan are the plan's
    for f in (Item.BATCH, Item.KV_HEAD, Item.HEAD0, Item.ROWS, Item.PAGE_BASE, Item.MERGE_ID, Item.PART):
        assert np.array_equal(main[:, f], w.items[:, f])
    flat = expand(pooled)
    items = flat.items.astype(np.int64)
    covered = {}
    for it in items:
        lo, hi = int(it[Item.KV_START]), int(it[Item.KV_END])
        assert 0 <= lo < hi
        for h in range(it[Item.HEAD0], it[Item.HEAD0] + it[Item.ROWS]):
            covered.setdefault((int(it[Item.BATCH]), h), []).append((lo, hi))
    for b, length in enumerate(kv_lens):
        for h in range(hq):
            spans = sorted(covered[(b, h)])
            assert spans[0][0] == 0 and spans[-1][1] == length
            assert all(a[1] == c[0] for a, c in zip(spans, spans[1:]))
    for m in range(S):
        parts = items[items[:, Item.MERGE_ID] == m]
        desc = pooled.items[n + m]
        assert sorted(parts[:, Item.PART].tolist()) == list(range(len(parts)))
        assert np.all(parts[:, Item.NUM_PARTS] == len(parts)) and len(np.unique(parts[:, Item.TMP_BASE])) == 1
        assert desc[PoolDesc.COUNTER] == S + m and desc[PoolDesc.PART0] == len(parts) - desc[PoolDesc.TILES]
        if desc[PoolDesc.TILES]:  # pooled: tile-aligned main parts, every one with the bit
            mains = parts[parts[:, Item.PART] < desc[PoolDesc.PART0]]
            assert np.all((mains[:, Item.HEADS_LOG2] >> POOL_BIT) == 1) and np.all(mains[:, Item.KV_END] % TILE_N == 0)
            assert np.all(mains[:, Item.KV_END] - mains[:, Item.KV_START] >= 2 * TILE_N)
    assert np.all(items[:, Item.TMP_BASE] % TMP_ALIGN_ROWS == 0)
    tmp = sorted((int(p[Item.TMP_BASE]) + int(p[Item.PART]) * int(p[Item.ROWS]), int(p[Item.ROWS])) for p in items)
    assert all(a[0] + a[1] <= c[0] for a, c in zip(tmp, tmp[1:])) and tmp[-1][0] + tmp[-1][1] <= pooled.tmp_rows
    return w, pooled, flat


@pytest.mark.parametrize("kv_lens,hq,hk,k", [
    ([32768], 32, 8, 2), ([32768], 32, 8, 1), ([20013], 32, 8, 2), ([32768] * 2, 32, 8, 3), ([9001], 64, 1, 2),
])
def test_pool_plan_covers_every_row_once(kv_lens, hq, hk, k):
    w, pooled, flat = check_pooled(kv_lens, hq, hk, k)
    n = w.num_ctas
    desc = pooled.items[n:]
    assert (desc[:, PoolDesc.TILES] > 0).any()
    # each pooled split has min(k x P, T - 2P) micro-parts of one tile, the last one ending at the request's end
    for m in range(w.num_splits):
        parts = int((w.items[:, Item.MERGE_ID] == m).sum())
        length = int(w.items[w.items[:, Item.MERGE_ID] == m, Item.KV_END].max())
        t = -(-length // TILE_N)
        if parts >= D.POOL_MIN_PARTS:
            assert desc[m, PoolDesc.TILES] == min(k * parts, t - 2 * parts)
            assert desc[m, PoolDesc.END] == length and desc[m, PoolDesc.START] == (t - desc[m, PoolDesc.TILES]) * TILE_N


def test_pool_plan_refuses_other_plans():
    # several items per CTA (no split), whole sequences per CTA, and a plan that does not leave room for the descriptors
    for kv_lens in ([1024] * 128, [16384] * 16):
        w = plan_decode_work(np.array(kv_lens), np.zeros(len(kv_lens), np.int64), 32, 8, 128, SMS)
        assert pool_plan(w, TILE_N, 2, 10**6) is None
    w = plan_decode_work(np.array([32768]), np.array([0]), 32, 8, 128, SMS)
    assert pool_plan(w, TILE_N, 2, len(w.items) + w.num_splits - 1) is None
    assert pool_plan(w, TILE_N, 0, 10**6) is None


def test_pool_plan_leaves_short_splits_alone():
    # 8 x 32k splits each request in 2 parts (< POOL_MIN_PARTS): no micro-parts, the plan's cuts kept
    w, pooled, flat = check_pooled([32768] * 8, 32, 8, 2)
    assert (pooled.items[w.num_ctas:, PoolDesc.TILES] == 0).all()
    assert np.array_equal(pooled.items[: w.num_ctas, Item.KV_END], w.items[:, Item.KV_END])
    assert ((pooled.items[: w.num_ctas, Item.HEADS_LOG2] >> POOL_BIT) == 0).all()


@pytest.mark.parametrize("page_size", [1, 16])
def test_pool_plan_emulates_to_reference(page_size):
    gen = torch.Generator().manual_seed(3)
    kv_lens, hq, hk, d = [5000 + 7], 8, 2, 128
    pages_per = [(n + page_size - 1) // page_size for n in kv_lens]
    num_pages = sum(pages_per) + 3
    indices = torch.randperm(num_pages, generator=gen)[: sum(pages_per)].to(torch.int32)
    indptr = [0] + np.cumsum(pages_per).tolist()
    last = [(n - 1) % page_size + 1 for n in kv_lens]
    w = plan_decode_work(np.array(kv_lens), np.array(indptr[:-1]), hq, hk, d, 24)
    pooled = pool_plan(w, TILE_N, 2, len(w.items) + w.num_splits)
    assert pooled is not None and (pooled.items[w.num_ctas:, PoolDesc.TILES] > 0).all()
    k = torch.randn(num_pages, page_size, hk, d, generator=gen)
    v = torch.randn(num_pages, page_size, hk, d, generator=gen)
    q = torch.randn(len(kv_lens), hq, d, generator=gen)
    out, lse = emulate(expand(pooled), q, k, v, indices, page_size, 0.1)
    ref_o, ref_l = R.paged_attention(q, k, v, list(range(len(kv_lens) + 1)), indptr, indices, last, sm_scale=0.1)
    torch.testing.assert_close(out, ref_o, atol=1e-9, rtol=1e-9)
    torch.testing.assert_close(lse, ref_l, atol=1e-9, rtol=1e-9)


def test_wrapper_pools_eager_plans_only(monkeypatch):
    """plan() with the knob: the host plan carries the descriptors after the CTAs' items and the doubled counters; a
    CUDA-graph wrapper's plan does not."""
    kv_lens, page_size = [32768], 16
    pages = [n // page_size for n in kv_lens]
    indptr = torch.tensor([0] + np.cumsum(pages).tolist(), dtype=torch.int32)
    indices = torch.arange(sum(pages), dtype=torch.int32)
    last = torch.tensor([page_size], dtype=torch.int32)
    monkeypatch.setattr(D, "POOL_TILES", 2)
    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(device="cpu")
    w.plan(indptr, indices, last, 32, 8, 128, page_size)
    plan = w._plan
    n = plan.grid
    assert int(plan.cta_ptr[n]) == n and plan.items.shape[0] == n + 8 and plan.work.num_splits == 16
    assert (plan.items[n:, PoolDesc.TILES] == 32).all() and plan.spec.stages == D.DECODE_ONE_ITEM_STAGES[128]
    g = cute_attn.BatchDecodeWithPagedKVCacheWrapper(device="cpu", use_cuda_graph=True)
    g.plan(indptr, indices, last, 32, 8, 128, page_size)
    assert g._plan.work.num_splits == 8 and g._plan.items.shape[0] == g._plan.work.num_ctas
    assert not ((g._plan.items[:, Item.HEADS_LOG2] >> POOL_BIT) & 1).any()
