"""Decode host side: the split-KV work schedule and plan() validation (CPU, no GPU)."""

import math

import numpy as np
import pytest
import torch

import cute_attn
import cute_attn.decode as D
from cute_attn import reference as R
from cute_attn.decode import ITEM_OVERHEAD_BYTES, MIN_PIECE_ROWS, TMP_ALIGN_ROWS, plan_decode_work
from cute_attn.layouts.decode_work import ITEM_LAG_BIT, MAX_ROWS, Item

SMS = 132


def check_schedule(kv_lens, hq, hk, d=128, sms=SMS, **kw):
    """Every KV row of every (request, query head) is covered exactly once; split parts are consistent. Items of H kv
    heads (rows = H x group) cover the query heads of kv heads hk .. hk + H - 1, whole sequences only."""
    page_base = np.arange(len(kv_lens)) * 1000
    w = plan_decode_work(kv_lens, page_base, hq, hk, d, sms, **kw)
    items = w.items.astype(np.int64)
    assert items.dtype == np.int64 and w.cta_ptr[0] == 0 and w.cta_ptr[-1] == len(items)
    assert np.all(np.diff(w.cta_ptr) >= 0) and 1 <= w.num_ctas <= sms
    group = hq // hk
    heads = D.item_heads_of(w, hq, hk)
    assert heads <= 1 or (w.num_splits == 0 and np.all(items[:, Item.ROWS] == heads * group))
    if not w.mixed_heads:  # one H for the whole plan (1, or the uniform rule's)
        assert heads >= 1 and np.all(items[:, Item.HEADS_LOG2] == heads.bit_length() - 1)
    else:  # the mixed pass: items of H heads among others
        assert heads == 0 and (items[:, Item.HEADS_LOG2] > 0).any()
    covered = {}
    for it in items:
        b, hk_i, h0, rows = (int(it[f]) for f in (Item.BATCH, Item.KV_HEAD, Item.HEAD0, Item.ROWS))
        h_it = 1 << int(it[Item.HEADS_LOG2])
        if h_it > 1:  # whole sequences of kv heads hk_i .. hk_i + H - 1, hk_i a multiple of H, all query rows
            assert rows == h_it * group and hk_i % h_it == 0 and it[Item.NUM_PARTS] == 0 and it[Item.MERGE_ID] < 0
            assert it[Item.KV_START] == 0 and it[Item.KV_END] == kv_lens[b] and h_it in D.ITEM_HEADS
        assert 1 <= rows <= MAX_ROWS and hk_i == h0 // group and h0 + rows <= (hk_i + h_it) * group
        assert it[Item.PAGE_BASE] == page_base[b]
        lo, hi = int(it[Item.KV_START]), int(it[Item.KV_END])
        assert 0 <= lo <= hi <= kv_lens[b]
        for h in range(h0, h0 + rows):
            covered.setdefault((b, h), []).append((lo, hi))
    for b, n in enumerate(kv_lens):
        for h in range(hq):
            spans = sorted(covered[(b, h)])
            if n == 0:
                assert spans == [(0, 0)]
                continue
            assert spans[0][0] == 0 and spans[-1][1] == n
            assert all(a[1] == c[0] and a[0] < a[1] for a, c in zip(spans, spans[1:] + [(n, n + 1)]))
    # split parts: consecutive workspace rows, ids dense, parts numbered 0..n-1, none too short
    split = items[items[:, Item.MERGE_ID] >= 0]
    assert len(np.unique(split[:, Item.MERGE_ID])) == w.num_splits
    for m in range(w.num_splits):
        parts = split[split[:, Item.MERGE_ID] == m]
        assert sorted(parts[:, Item.PART].tolist()) == list(range(len(parts))) and len(parts) >= 2
        assert np.all(parts[:, Item.NUM_PARTS] == len(parts)) and len(np.unique(parts[:, Item.TMP_BASE])) == 1
        assert np.all(parts[:, Item.KV_END] - parts[:, Item.KV_START] >= MIN_PIECE_ROWS)
    # workspace rows: disjoint, each split starting on a 128-byte line of LSEs, within tmp_rows
    assert np.all(split[:, Item.TMP_BASE] % TMP_ALIGN_ROWS == 0)
    tmp = sorted((int(p[Item.TMP_BASE]) + int(p[Item.PART]) * int(p[Item.ROWS]), int(p[Item.ROWS])) for p in split)
    assert all(a[0] + a[1] <= c[0] for a, c in zip(tmp, tmp[1:])) and (not tmp or tmp[-1][0] + tmp[-1][1] <= w.tmp_rows)
    # the CUDA-graph buffers are sized for the worst case
    assert len(items) <= len(kv_lens) * hk * -(-group // MAX_ROWS) + sms and w.num_splits < sms
    assert w.tmp_rows <= 2 * sms * min(group, MAX_ROWS) + sms * TMP_ALIGN_ROWS
    return w


def emulate(w, q, k_cache, v_cache, indices, page_size, scale):
    """What the kernel computes, item by item, in float64: partial states in the log2 domain, then
    the merge of each split (the host/kernel contract of layouts/decode_work.py)."""
    out = torch.full(q.shape, float("nan"), dtype=torch.float64)
    lse = torch.full(q.shape[:2], float("nan"), dtype=torch.float64)
    tmp_o = torch.full((max(w.tmp_rows, 1), q.shape[2]), float("nan"), dtype=torch.float64)
    tmp_lse = torch.full((max(w.tmp_rows, 1),), float("nan"), dtype=torch.float64)
    splits = {}
    for it in w.items.tolist():
        b, hk, h0, rows, lo, hi, pb = (it[f] for f in (Item.BATCH, Item.KV_HEAD, Item.HEAD0, Item.ROWS,
                                                      Item.KV_START, Item.KV_END, Item.PAGE_BASE))
        r = torch.arange(lo, hi)
        pages = indices[pb + r // page_size].long()
        # an item of H kv heads: query row j reads kv head hk + j // group (group = query heads per kv head)
        kvh = (hk + torch.arange(rows) // (q.shape[1] // k_cache.shape[2]))[:, None]
        kk, vv = k_cache[pages[None], (r % page_size)[None], kvh].double(), v_cache[pages[None], (r % page_size)[None], kvh].double()
        s = torch.einsum("jd,jrd->jr", q[b, h0:h0 + rows].double(), kk) * scale / math.log(2)
        m = s.max(1).values if hi > lo else torch.full((rows,), float("-inf"), dtype=torch.float64)
        p = torch.exp2(s - m[:, None])
        total = p.sum(1)
        o = torch.where(total[:, None] > 0, torch.einsum("jr,jrd->jd", p, vv) / total.clamp_min(1e-300)[:, None],
                        torch.zeros(rows, q.shape[2], dtype=torch.float64))
        l2 = torch.where(total > 0, m + torch.log2(total.clamp_min(1e-300)), torch.full_like(m, float("-inf")))
        if it[Item.MERGE_ID] < 0:
            out[b, h0:h0 + rows], lse[b, h0:h0 + rows] = o, l2 * math.log(2)
        else:
            base = it[Item.TMP_BASE] + it[Item.PART] * rows
            tmp_o[base:base + rows], tmp_lse[base:base + rows] = o, l2
            splits[it[Item.MERGE_ID]] = (b, h0, rows, it[Item.TMP_BASE], it[Item.NUM_PARTS])
    for b, h0, rows, base, parts in splits.values():
        idx = base + torch.arange(parts)[:, None] * rows + torch.arange(rows)[None]
        ls, os_ = tmp_lse[idx], tmp_o[idx]
        m = ls.max(0).values
        wgt = torch.exp2(ls - m)
        out[b, h0:h0 + rows] = (wgt[..., None] * os_).sum(0) / wgt.sum(0)[:, None]
        lse[b, h0:h0 + rows] = (m + torch.log2(wgt.sum(0))) * math.log(2)
    return out, lse


def emulated_equals_reference(seed, kv_lens, hq, hk, d, page_size, sms):
    """The default plan of ``kv_lens`` over shuffled pages, emulated (:func:`emulate`) against the paged reference on
    random data (generator ``seed``), to 1e-9; returns the plan."""
    gen = torch.Generator().manual_seed(seed)
    pages_per = [(n + page_size - 1) // page_size for n in kv_lens]
    num_pages = sum(pages_per) + 3
    indices = torch.randperm(num_pages, generator=gen)[: sum(pages_per)].to(torch.int32)
    indptr = [0] + np.cumsum(pages_per).tolist()
    last = [(n - 1) % page_size + 1 if n else 0 for n in kv_lens]
    w = plan_decode_work(kv_lens, indptr[:-1], hq, hk, d, sms)
    k = torch.randn(num_pages, page_size, hk, d, generator=gen)
    v = torch.randn(num_pages, page_size, hk, d, generator=gen)
    q = torch.randn(len(kv_lens), hq, d, generator=gen)
    out, lse = emulate(w, q, k, v, indices, page_size, 0.1)
    ref_o, ref_l = R.paged_attention(q, k, v, list(range(len(kv_lens) + 1)), indptr, indices, last, sm_scale=0.1)
    torch.testing.assert_close(out, ref_o, atol=1e-9, rtol=1e-9)
    torch.testing.assert_close(lse, ref_l, atol=1e-9, rtol=1e-9)
    return w


@pytest.mark.parametrize("page_size", [1, 16])
@pytest.mark.parametrize("hq,hk", [(8, 2), (128, 1)])
def test_schedule_emulated_equals_reference(page_size, hq, hk):
    gen = torch.Generator().manual_seed(1)
    kv_lens, d, sms = [3000, 0, 1, 700, 4500], 64, 24
    pages_per = [(n + page_size - 1) // page_size for n in kv_lens]
    num_pages = sum(pages_per) + 3
    indices = torch.randperm(num_pages, generator=gen)[: sum(pages_per)].to(torch.int32)
    indptr = [0] + np.cumsum(pages_per).tolist()
    last = [(n - 1) % page_size + 1 if n else 0 for n in kv_lens]
    k = torch.randn(num_pages, page_size, hk, d, generator=gen)
    v = torch.randn(num_pages, page_size, hk, d, generator=gen)
    q = torch.randn(len(kv_lens), hq, d, generator=gen)
    check_schedule(kv_lens, hq, hk, d, sms)
    w = plan_decode_work(kv_lens, indptr[:-1], hq, hk, d, sms)
    assert w.num_splits > 0
    out, lse = emulate(w, q, k, v, indices, page_size, 0.1)
    ref_o, ref_l = R.paged_attention(q, k, v, list(range(len(kv_lens) + 1)), indptr, indices, last, sm_scale=0.1)
    torch.testing.assert_close(out, ref_o, atol=1e-9, rtol=1e-9)
    assert torch.equal(torch.isneginf(lse), torch.isneginf(ref_l))
    fin = torch.isfinite(ref_l)
    torch.testing.assert_close(lse[fin], ref_l[fin], atol=1e-9, rtol=1e-9)


def cta_bytes(w, d=128):
    items = w.items.astype(np.int64)
    rows = items[:, Item.KV_END] - items[:, Item.KV_START]
    heads = 1 << items[:, Item.HEADS_LOG2]  # an item of H kv heads reads H sequences (the planner's cost of each)
    cost = (rows * 4 * d + ITEM_OVERHEAD_BYTES) * heads
    return np.array([cost[w.cta_ptr[c]:w.cta_ptr[c + 1]].sum() for c in range(w.num_ctas)])


@pytest.mark.parametrize(
    "kv_lens,hq,hk",
    [
        ([4096] * 64, 32, 8),
        ([16384] * 16, 32, 8),
        ([1024] * 128, 32, 8),
        ([32768], 32, 8),
        ([32768] * 8, 32, 8),
        ([32768] + [300] * 40 + [7, 0, 1], 32, 8),
        ([0, 0, 5], 4, 4),
        ([113, 1, 1023, 0, 4097], 8, 1),
        ([2000, 3], 128, 1),  # MQA with 128 query heads: two 64-row head blocks per kv head
        ([17] * 300, 12, 4),
    ],
)
def test_schedule_covers_every_row_once(kv_lens, hq, hk):
    check_schedule(kv_lens, hq, hk)


@pytest.mark.parametrize(
    "kv_lens",
    [[4096] * 64, [16384] * 16, [32768], [32768] * 8, [32768] + [512] * 63,
     np.random.default_rng(0).integers(1, 8192, 256).tolist()],
)
def test_schedule_balances_bytes_across_sms(kv_lens):
    w = check_schedule(kv_lens, 32, 8)
    loads = cta_bytes(w)
    assert SMS - SMS // D.CTA_SLACK_DIV <= w.num_ctas <= SMS
    assert loads.max() <= 1.06 * loads.mean(), f"max/mean {loads.max() / loads.mean():.3f}"


@pytest.mark.parametrize("kv_lens, ctas, splits", [([4096] * 64, 128, 0), ([1024] * 128, 128, 0),
                                                   ([16384] * 16, 128, 0), ([32768] * 8, 128, 64)])
def test_equal_lengths_take_whole_sequences_over_slightly_fewer_ctas(kv_lens, ctas, splits, monkeypatch):
    # 32 q / 8 kv heads: 8 sequences per request; 128 CTAs hold whole sequences (or equal halves), 132 cut
    w = check_schedule(kv_lens, 32, 8)
    assert (w.num_ctas, w.num_splits) == (ctas, splits)
    loads = cta_bytes(w)
    assert loads.max() <= 1.01 * loads.min()
    monkeypatch.setattr(D, "CTA_SLACK_DIV", 0)  # off: every SM, odd cuts
    w0 = check_schedule(kv_lens, 32, 8)
    assert w0.num_ctas == SMS and w0.num_splits >= splits and len(w0.items) > len(w.items)


@pytest.mark.parametrize("kv_lens, per_cta", [([4096] * 64, 4), ([1024] * 128, 8), ([4096] * 32, 2), ([512] * 256, 16)])
def test_head_minor_order(kv_lens, per_cta, monkeypatch):
    # whole sequences, k per CTA: CTA 8 g + h runs kv head h of requests k g .. k g + k - 1 (plans of one kv head per
    # item: items of several heads, test_items_of_several_kv_heads, keep the stream order)
    monkeypatch.setattr(D, "MAX_ITEM_HEADS", 1)
    w = check_schedule(kv_lens, 32, 8)
    assert w.num_splits == 0 and np.all(np.diff(w.cta_ptr) == per_cta)
    for c in range(w.num_ctas):
        it = w.items[w.cta_ptr[c]:w.cta_ptr[c + 1]]
        g, h = divmod(c, 8)
        assert np.all(it[:, Item.KV_HEAD] == h) and it[:, Item.BATCH].tolist() == list(range(per_cta * g, per_cta * g + per_cta))
    monkeypatch.setattr(D, "HEAD_MINOR_MIN_PAGE", 0)
    w0 = check_schedule(kv_lens, 32, 8)
    assert np.array_equal(w0.cta_ptr, w.cta_ptr) and sorted(map(tuple, w0.items.tolist())) == sorted(map(tuple, w.items.tolist()))
    assert np.all(w0.items[: min(per_cta, 8), Item.BATCH] == w0.items[0, Item.BATCH])
    monkeypatch.setattr(D, "HEAD_MINOR_MIN_PAGE", 16)
    w1 = plan_decode_work(kv_lens, np.arange(len(kv_lens)) * 1000, 32, 8, 128, SMS, page_size=1)  # below the minimum
    assert np.array_equal(w1.items, w0.items) and np.array_equal(w1.cta_ptr, w0.cta_ptr)


@pytest.mark.parametrize("kv_lens", [[4096] * 64, [1024] * 128])
def test_head_minor_order_from_page_1_at_hd64(kv_lens, monkeypatch):
    """hd64 takes the head-minor order from page 1 (session 20 call 12: +2.1-2.9 % there), hd128 / hd256 from page 16;
    HEAD_MINOR_MIN_PAGE = 0 turns it off for every head dim (plans of one kv head per item)."""
    monkeypatch.setattr(D, "MAX_ITEM_HEADS", 1)
    base = np.arange(len(kv_lens)) * 1000
    assert D.head_minor_min_page(64) == 1 and D.head_minor_min_page(128) == 16 and D.head_minor_min_page(256) == 16

    def order(d, page_size):
        w = plan_decode_work(kv_lens, base, 32, 8, d, SMS, page_size=page_size)
        first = w.items[w.cta_ptr[0]:w.cta_ptr[1]]
        return "head-minor" if len(set(first[:, Item.KV_HEAD].tolist())) == 1 else "request-major"

    assert order(64, 1) == order(64, 16) == order(128, 16) == "head-minor"
    assert order(128, 1) == order(256, 1) == "request-major"
    monkeypatch.setattr(D, "HEAD_MINOR_MIN_PAGE", 0)
    assert D.head_minor_min_page(64) == 0 and order(64, 1) == order(64, 16) == "request-major"


def test_skewed_batch_spreads_the_long_request():
    w = check_schedule([32768] + [256] * 63, 32, 8)
    items = w.items
    long_items = items[items[:, Item.BATCH] == 0]
    ctas = np.searchsorted(w.cta_ptr, np.nonzero(items[:, Item.BATCH] == 0)[0], side="right") - 1
    assert len(np.unique(ctas)) >= 64 and np.all(long_items[:, Item.MERGE_ID] >= 0)
    assert cta_bytes(w).max() <= 1.06 * cta_bytes(w).mean()


def test_short_batch_uses_few_ctas_and_no_split():
    w = check_schedule([5, 9], 8, 8)
    assert w.num_splits == 0 and w.num_ctas <= 16


def test_empty_batch():
    w = plan_decode_work([], [], 8, 2, 128, SMS)
    assert w.items.shape == (0, 12) and w.num_ctas == 0


def table(kv_lens, page_size):
    pages = [(n + page_size - 1) // page_size for n in kv_lens]
    indptr = torch.tensor([0] + np.cumsum(pages).tolist(), dtype=torch.int32)
    indices = torch.arange(int(indptr[-1]), dtype=torch.int32)
    last = torch.tensor([(n - 1) % page_size + 1 if n else 0 for n in kv_lens], dtype=torch.int32)
    return indptr, indices, last


def test_wrapper_plan_on_host(which_planner):
    indptr, indices, last = table([40, 0, 1000], 16)
    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(device="cpu")
    w.plan(indptr, indices, last, 32, 8, 128, 16)
    items = w._plan.items
    assert items.shape[1] == 12 and int(w._plan.cta_ptr[-1]) == items.shape[0]
    lens = {int(r[Item.BATCH]): int(r[Item.KV_END]) for r in items if r[Item.MERGE_ID] < 0}
    assert lens.get(0) == 40 and lens.get(1) == 0


@pytest.mark.parametrize(
    "mutate,exc,match",
    [
        (lambda a: a.update(kv_indptr=torch.tensor([0, 3, 2, 5], dtype=torch.int32)), ValueError, "non-decreasing"),
        (lambda a: a.update(kv_indptr=torch.tensor([1, 3, 4, 5], dtype=torch.int32)), ValueError, r"kv_indptr\[0\]"),
        (lambda a: a.update(kv_indptr=torch.tensor([0, 3, 4, 9], dtype=torch.int32)), ValueError, "exceeds len"),
        (lambda a: a.update(kv_indices=torch.tensor([0, 1, -2, 3, 4], dtype=torch.int32)), ValueError, "non-negative"),
        (lambda a: a.update(kv_last_page_len=torch.tensor([16, 0, 3], dtype=torch.int32)), ValueError, "kv_last_page_len"),
        (lambda a: a.update(kv_last_page_len=torch.tensor([17, 1, 3], dtype=torch.int32)), ValueError, "page_size=16"),
        (lambda a: a.update(kv_last_page_len=torch.tensor([1, 1], dtype=torch.int32)), ValueError, "length 3"),
        (lambda a: a.update(kv_indices=torch.arange(5)), TypeError, "int32"),
        (lambda a: a.update(num_qo_heads=12, num_kv_heads=8), ValueError, "multiple of num_kv_heads"),
        (lambda a: a.update(head_dim=96), ValueError, "head_dim"),
        (lambda a: a.update(page_size=0), ValueError, "page_size"),
        (lambda a: a.update(q_data_type=torch.float32), TypeError, "q_data_type"),
        (lambda a: a.update(sm_scale=-0.5), ValueError, "sm_scale must be finite and positive"),
    ],
)
def test_plan_validation(which_planner, mutate, exc, match):
    args = dict(kv_indptr=torch.tensor([0, 3, 4, 5], dtype=torch.int32),
                kv_indices=torch.arange(5, dtype=torch.int32),
                kv_last_page_len=torch.tensor([16, 1, 3], dtype=torch.int32),
                num_qo_heads=32, num_kv_heads=8, head_dim=128, page_size=16)
    mutate(args)
    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(device="cpu")
    with pytest.raises(exc, match=match):
        w.plan(**args)


def test_run_validation_before_any_launch():
    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(device="cpu")
    q = torch.randn(3, 32, 128).bfloat16()
    cache = torch.randn(5, 2, 16, 8, 128).bfloat16()
    with pytest.raises(RuntimeError, match="plan"):
        w.run(q, cache)
    indptr, indices, last = table([40, 0, 1000], 16)
    w.plan(indptr, indices, last, 32, 8, 128, 16)
    with pytest.raises(ValueError, match="q must have shape"):
        w.run(q[:2], cache)
    with pytest.raises(TypeError, match="plan was made for"):
        w.run(q.half(), cache.half())
    with pytest.raises(ValueError, match="kv_indices must lie in"):
        w.run(q, torch.randn(5, 2, 16, 8, 128).bfloat16())  # plan saw page ids up to 65
    big = torch.randn(70, 2, 16, 8, 128).bfloat16()
    with pytest.raises(ValueError, match="expected"):
        w.run(q, big[:, :, :8])
    with pytest.raises(cute_attn.DeviceError):
        w.run(q, big)
    with pytest.raises(ValueError, match="kv_layout"):
        cute_attn.BatchDecodeWithPagedKVCacheWrapper(kv_layout="NDH")


def test_run_checks_each_new_geometry_once(monkeypatch):
    """run()'s cached paths (geometry key, cache unpack) on the host, with the launch and the device checks
    stubbed: the same inputs are checked once; a new q / out geometry, another cache object or a reshaped
    (k, v) pair is checked again and handed to the kernel as given."""
    import torch.cuda
    import cute_attn.decode as D

    monkeypatch.setattr(D, "_current_device", lambda: -1)
    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(device="cpu")
    indptr, indices, last = table([40, 0, 1000], 16)
    w.plan(indptr, indices, last, 32, 8, 128, 16)
    checked, launched = [], []
    monkeypatch.setattr(w, "_check_run", lambda plan, q, k, v, out: checked.append((q, k, v, out)) or (False,) * 4)
    w._plan.kernel = lambda *args: launched.append(args)
    q = torch.randn(3, 32, 128).bfloat16()
    cache = torch.randn(70, 2, 16, 8, 128).bfloat16()
    w.run(q, cache)
    w.run(q, cache)
    assert len(checked) == 1 and len(launched) == 2
    assert launched[1][1].data_ptr() == cache.data_ptr() and launched[1][0] is q
    w.run(q.clone(), cache)  # same geometry, another tensor: no new check
    assert len(checked) == 1
    w.run(torch.randn(3, 64, 128).bfloat16()[:, ::2], cache)  # other strides
    assert len(checked) == 2
    out = torch.empty(3, 32, 128).bfloat16()
    w.run(q, cache, out=out)
    assert len(checked) == 3 and launched[-1][6] is out
    other = torch.randn(70, 2, 16, 8, 128).bfloat16()
    w.run(q, other)  # another cache object: unpacked again, its geometry is the one checked
    assert launched[-1][1].data_ptr() == other.data_ptr()
    k, v = cache[:, 0], cache[:, 1]
    w.run(q, (k, v))
    w.run(q, (k, v))
    assert launched[-1][1] is k and launched[-1][2] is v
    k2 = torch.randn(70, 16, 8, 128).bfloat16()
    w.run(q, (k2, v))
    assert launched[-1][1] is k2
    with pytest.raises(TypeError):
        w._check_run = D.BatchDecodeWithPagedKVCacheWrapper._check_run.__get__(w)
        w.run([1, 2, 3], cache)  # not a tensor: the full check names it


# ----------------------------------------------------------------------- compiled planner vs numpy


@pytest.fixture(scope="module")
def planner(tmp_path_factory):
    """The compiled planner, built from the package source into a fresh directory (needs g++)."""
    import shutil

    from cute_attn import hostlib

    if shutil.which("g++") is None:
        pytest.skip("no g++: the compiled planner cannot be built here")
    path = hostlib.build("decode_plan", str(tmp_path_factory.mktemp("hostlib")))
    return D.compiled_planner(path)


def random_batch(rng):
    """Page tables of many shapes: uniform, skewed (one long request among short ones), empty
    requests, single requests, batches far smaller or larger than the SM count."""
    kind = rng.integers(6)
    batch = int(rng.choice([0, 1, 2, 3, 7, 16, 64, 130, 256, 511]))
    if kind == 0:
        lens = rng.integers(0, 70000 if batch <= 8 else 9000, batch)
    elif kind == 1:
        lens = np.full(batch, int(rng.choice([1, 17, 64, 65, 255, 256, 1024, 4096, 16384, 32768])))
    elif kind == 2:
        lens = rng.integers(1, 600, batch)
        if batch:
            lens[rng.integers(batch)] = rng.integers(8000, 130000)
    elif kind == 3:
        lens = rng.integers(0, 3000, batch) * (rng.random(batch) < 0.5)
    elif kind == 4:
        lens = rng.geometric(1 / float(rng.choice([50, 500, 5000])), batch)
    else:
        lens = np.zeros(batch, np.int64)
    page_size = int(rng.choice([1, 16, 64]))
    hq, hk = [(32, 8), (8, 8), (64, 8), (16, 1), (128, 1), (12, 4), (256, 2)][rng.integers(7)]
    d = int(rng.choice([64, 128, 256]))
    sms = int(rng.choice([132, 132, 114, 24, 7, 1]))
    return [int(x) for x in lens], page_size, hq, hk, d, sms


def page_table(kv_lens, page_size, gen=None):
    pages = [(n + page_size - 1) // page_size for n in kv_lens]
    indptr = np.concatenate(([0], np.cumsum(pages, dtype=np.int64))).astype(np.int32)
    last = np.array([(n - 1) % page_size + 1 if n else 0 for n in kv_lens], np.int32)
    return indptr, last


def assert_same_schedule(planner, kv_lens, page_size, hq, hk, d, sms):
    indptr, last = page_table(kv_lens, page_size)
    want = plan_decode_work(kv_lens, indptr[:-1], hq, hk, d, sms, page_size=page_size)
    got = D.plan_decode_work_compiled(planner, indptr, last, page_size, hq, hk, d, sms)
    case = (len(kv_lens), page_size, hq, hk, d, sms)
    assert got is not None, case
    assert np.array_equal(got.items, want.items), case
    assert np.array_equal(got.cta_ptr, want.cta_ptr), case
    assert (got.num_splits, got.tmp_rows) == (want.num_splits, want.tmp_rows), case


def test_scratch_size_agrees(planner):
    for batch, sms in ((0, 1), (1, 132), (256, 132), (5000, 114)):
        assert D._scratch_len(batch, sms) == planner.plan_scratch_len(batch, sms)


def test_compiled_planner_equals_numpy_on_random_batches(planner):
    rng = np.random.default_rng(7)
    for _ in range(3000):
        assert_same_schedule(planner, *random_batch(rng))


@pytest.mark.parametrize("page_size", [1, 16])
@pytest.mark.parametrize(
    "kv_lens",
    [[4096] * 64, [16384] * 16, [1024] * 128, [32768], [32768] * 8, [32768] + [512] * 63,
     torch.randint(1, 8192, (256,), generator=torch.Generator().manual_seed(0)).tolist(), []],
)
def test_compiled_planner_equals_numpy_on_bench_cases(planner, kv_lens, page_size):
    for d in (64, 128):  # hd64 takes the head-minor order from page 1, hd128 from page 16
        assert_same_schedule(planner, kv_lens, page_size, 32, 8, d, SMS)


@pytest.fixture(params=["numpy", "compiled"])
def which_planner(request, monkeypatch):
    """Run a wrapper test once with each planner behind plan()."""
    lib = request.getfixturevalue("planner") if request.param == "compiled" else None
    monkeypatch.setattr(D, "_PLANNER", [lib])
    return request.param


def test_wrapper_plans_alike_with_either_planner(planner, monkeypatch):
    numpy_plan = D.plan_decode_work

    def no_numpy_plan(*args, **kwargs):
        raise AssertionError("plan() fell back to the numpy planner")

    rng = np.random.default_rng(3)
    for _ in range(50):
        kv_lens, page_size, hq, hk, d, _ = random_batch(rng)
        indptr, last = page_table(kv_lens, page_size)
        indices = torch.from_numpy(rng.permutation(max(int(indptr[-1]), 1)).astype(np.int32))
        plans = []
        for lib in (None, planner):
            monkeypatch.setattr(D, "_PLANNER", [lib])
            # with the compiled planner, plan() must not fall back to numpy (or this test compares numpy to itself)
            monkeypatch.setattr(D, "plan_decode_work", numpy_plan if lib is None else no_numpy_plan)
            w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(device="cpu")
            w.plan(torch.from_numpy(indptr), indices, torch.from_numpy(last), hq, hk, d, page_size)
            p = w._plan
            plans.append((p.items.numpy().copy(), p.cta_ptr.numpy().copy(), p.work.num_splits, p.work.tmp_rows,
                          p.max_page_id, p.grid))
        a, b = plans
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2:] == b[2:]


# ------------------------------------------------------------------ audit (session 5): inputs that used to pass


@pytest.mark.parametrize(
    "change,match",
    [
        (dict(kv_indptr=[0, 3.7, 4, 5]), r"kv_indptr\[1\] must be an int"),  # np.asarray(int64) truncated it
        (dict(kv_last_page_len=[16, 1.5, 3]), r"kv_last_page_len\[1\] must be an int"),
        (dict(kv_indices=[0, 1, 2.0, 3, 4]), r"kv_indices\[2\] must be an int"),
        (dict(kv_indptr=[[0, 3, 4, 5]]), r"kv_indptr\[0\] must be an int"),  # was numpy's "truth value" error
    ],
)
def test_plan_rejects_non_integer_list_entries(change, match):
    args = dict(kv_indptr=[0, 3, 4, 5], kv_indices=list(range(5)), kv_last_page_len=[16, 1, 3],
                num_qo_heads=32, num_kv_heads=8, head_dim=128, page_size=16)
    args.update(change)
    with pytest.raises(TypeError, match=match):
        cute_attn.BatchDecodeWithPagedKVCacheWrapper(device="cpu").plan(**args)


def test_plan_with_lists_equals_plan_with_tensors():
    indptr, indices, last = table([40, 0, 1000], 16)
    plans = []
    for args in ((indptr, indices, last), (indptr.tolist(), indices.tolist(), last.tolist())):
        w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(device="cpu")
        w.plan(*args, 32, 8, 128, 16)
        plans.append(w._plan)
    a, b = plans
    assert torch.equal(a.items, b.items) and torch.equal(a.cta_ptr, b.cta_ptr) and a.max_page_id == b.max_page_id


def test_run_rejects_overlapping_out():
    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(device="cpu")
    indptr, indices, last = table([40, 0, 1000], 16)
    w.plan(indptr, indices, last, 32, 8, 128, 16)
    q = torch.randn(3, 32, 128).bfloat16()
    cache = torch.randn(70, 2, 16, 8, 128).bfloat16()
    with pytest.raises(ValueError, match="out has stride 0 in dim 1"):
        w.run(q, cache, out=torch.empty(3, 1, 128, dtype=torch.bfloat16).expand(3, 32, 128))


def test_plan_picks_the_one_item_variant(which_planner):
    """Plans in which every CTA runs one work item (one long request split over the SMs; 16 requests x 8 kv heads on
    128 CTAs) run the shallower-pipeline variant (DECODE_ONE_ITEM_STAGES: 3 stages at hd64 and hd128); plans with several items
    per CTA and head dims without such a variant keep the default spec; CUDA-graph mode captures the run-time-H variant
    (hd64 / hd128) whatever the plan, and marks the items of its one-item plans for a stage fewer in flight."""
    from cute_attn.layouts.decode_work import DECODE_ONE_ITEM_STAGES

    def spec_of(kv_lens, head_dim=128, max_heads=None, **kw):
        w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(device="cpu", **kw)
        saved = D.MAX_ITEM_HEADS
        D.MAX_ITEM_HEADS = saved if max_heads is None else max_heads
        try:
            w.plan(*table(kv_lens, 16), 32, 8, head_dim, 16)
        finally:
            D.MAX_ITEM_HEADS = saved
        p = w._plan
        one = int(p.items.shape[0]) == p.grid if not kw else None
        return p.spec, p, one

    spec, p, one = spec_of([32768])  # 1 x 32k: 8 splits of 16 parts, one item per CTA
    assert one and p.work.num_splits > 0
    assert spec.stages == DECODE_ONE_ITEM_STAGES[128] and spec.name == "decode_bf16_headdim128_stages3_sm90a"
    spec, p, one = spec_of([16384] * 16)  # 16 x 16k: one whole sequence per CTA
    assert one and p.work.num_splits == 0 and spec.stages == 3
    spec, p, one = spec_of([1024] * 128)  # 128 x 1k: 8 sequences per CTA, as one item of 8 kv heads
    assert one and spec.stages == 3 and spec.item_heads == 8
    assert spec.name == "decode_bf16_headdim128_stages3_itemheads8_sm90a"
    spec, p, one = spec_of([1024] * 128, max_heads=1)  # without items of several heads: 8 items per CTA
    assert not one and spec.stages == 0 and spec.name == "decode_bf16_headdim128_sm90a"
    spec, p, one = spec_of([32768], head_dim=64)  # hd64's one-item variant (session 25): 3 stages too
    assert one and spec.stages == 3 and spec.name == "decode_bf16_headdim64_stages3_sm90a"
    spec, p, one = spec_of([32768], head_dim=256)  # no one-item variant at hd256
    assert spec.stages == 0 and spec.name == "decode_bf16_headdim256_sm90a"
    spec, p, one = spec_of([1024] * 128, head_dim=64)  # items of 8 kv heads at hd64, on its one-item stage count
    assert spec.stages == 3 and spec.item_heads == 8 and spec.name == "decode_bf16_headdim64_stages3_itemheads8_sm90a"
    # graph mode (GRAPH_ITEM_HEADS): the run-time-H variant at the default stages for every plan, items of H heads;
    # a plan of one item per CTA marks its items (GRAPH_ONE_ITEM_LAG: the kernel keeps a stage fewer in flight)
    lag = 1 << ITEM_LAG_BIT
    spec, p, one = spec_of([32768], use_cuda_graph=True)
    assert spec.name == "decode_bf16_headdim128_dynheads_sm90a" and p.work.num_splits > 0
    assert p.work.items.shape[0] == p.work.num_ctas and (p.items[:, Item.HEADS_LOG2] == lag).all()
    assert int(spec_of([32768])[1].items[:, Item.HEADS_LOG2].max()) == 0  # eager: never marked
    spec, p, one = spec_of([1024] * 128, use_cuda_graph=True)
    assert spec.name == "decode_bf16_headdim128_dynheads_sm90a" and int(p.items[0, Item.ROWS]) == 32
    assert p.work.items.shape[0] == p.work.num_ctas == 128  # one item of 8 kv heads per CTA
    assert (p.items[:, Item.HEADS_LOG2] == 3 | lag).all() and D.item_heads_of(p.work, 32, 8) == 8
    spec, p, one = spec_of([1024] * 128, use_cuda_graph=True, head_dim=64)
    assert spec.name == "decode_bf16_headdim64_dynheads_sm90a" and p.work.items.shape[0] == p.work.num_ctas
    assert (p.items[:, Item.HEADS_LOG2] == 3 | lag).all()
    saved = D.GRAPH_ONE_ITEM_LAG_HEAD_DIMS
    D.GRAPH_ONE_ITEM_LAG_HEAD_DIMS = (128,)  # (bench.decode_graph_ab --lag-head-dims): not marked at hd64 then
    try:
        spec, p, one = spec_of([1024] * 128, use_cuda_graph=True, head_dim=64)
    finally:
        D.GRAPH_ONE_ITEM_LAG_HEAD_DIMS = saved
    assert (p.items[:, Item.HEADS_LOG2] == 3).all()
    spec, p, one = spec_of([1024] * 128, use_cuda_graph=True, head_dim=256)  # no items of several heads at hd256
    assert spec.name == "decode_bf16_headdim256_sm90a" and int(p.items[0, Item.ROWS]) == 4
    assert int(spec_of([32768], use_cuda_graph=True, head_dim=256)[1].items[:, Item.HEADS_LOG2].max()) == 0  # no dyn
    saved = D.GRAPH_ONE_ITEM_LAG
    D.GRAPH_ONE_ITEM_LAG = False
    try:
        spec, p, one = spec_of([1024] * 128, use_cuda_graph=True)
    finally:
        D.GRAPH_ONE_ITEM_LAG = saved
    assert (p.items[:, Item.HEADS_LOG2] == 3).all()
    spec, p, one = spec_of([1024] * 128, use_cuda_graph=True, max_heads=1)  # MAX_ITEM_HEADS = 1: one head per item
    assert spec.dyn_heads and int(p.items[0, Item.ROWS]) == 4 and int(p.items[0, Item.HEADS_LOG2]) == 0
    saved = D.GRAPH_ITEM_HEADS
    D.GRAPH_ITEM_HEADS = False  # the graph variant of sessions 6-23: the default, one kv head per item
    try:
        spec, p, one = spec_of([1024] * 128, use_cuda_graph=True)
    finally:
        D.GRAPH_ITEM_HEADS = saved
    assert spec.name == "decode_bf16_headdim128_sm90a" and int(p.items[0, Item.ROWS]) == 4


def test_graph_mode_capacity_is_fixed_by_the_first_plan(which_planner):
    """use_cuda_graph: the first plan fixes batch size, heads, head_dim, dtype and the page-id capacity; a later
    plan within them is accepted, one beyond them raises (CPU plans: the same checks as on a GPU)."""
    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(device="cpu", use_cuda_graph=True)
    indptr, indices, last = table([40, 0, 1000], 16)  # 66 pages
    w.plan(indptr, indices, last, 32, 8, 128, 16)
    indptr2, indices2, last2 = table([1000, 17, 3], 16)  # 65 pages: fits
    w.plan(indptr2, indices2, last2, 32, 8, 128, 16)
    assert int(w._plan.items[:, Item.KV_END].max()) == 1000
    more_pages = table([1000, 17, 100], 16)  # 70 pages
    with pytest.raises(ValueError, match="page ids exceed the buffer capacity 66"):
        w.plan(*more_pages, 32, 8, 128, 16)
    with pytest.raises(ValueError, match="fixed by the first plan"):
        w.plan(*table([40, 0], 16), 32, 8, 128, 16)  # another batch size
    with pytest.raises(ValueError, match="fixed by the first plan"):
        w.plan(indptr, indices, last, 16, 8, 128, 16)  # other head counts
    with pytest.raises(ValueError, match="fixed by the first plan"):
        w.plan(indptr, indices, last, 32, 8, 64, 16)  # other head_dim
    with pytest.raises(ValueError, match="fixed by the first plan"):
        w.plan(indptr, indices, last, 32, 8, 128, 16, q_data_type=torch.float16)


def test_plan_for_cuda_without_cuda_is_a_device_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(D, "_SM_COUNT", {})
    indptr, indices, last = table([40, 0, 1000], 16)
    with pytest.raises(cute_attn.DeviceError, match="device='cpu'"):
        cute_attn.BatchDecodeWithPagedKVCacheWrapper().plan(indptr, indices, last, 32, 8, 128, 16)


def test_run_passes_buffer_addresses_with_ptr_args(monkeypatch):
    """kernels/decode_sm90.py PTR_ARGS: run() hands the plan's six buffers to the kernel as addresses plus
    the item capacity and tmp rows (launch stubbed, CPU plan); the user tensors stay tensors."""
    import torch.cuda

    monkeypatch.setattr(D, "_PTR_ARGS", True)
    monkeypatch.setattr(D, "_current_device", lambda: -1)
    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(device="cpu")
    indptr, indices, last = table([40, 0, 5000], 16)
    w.plan(indptr, indices, last, 32, 8, 128, 16)
    p = w._plan
    assert p.work.num_splits > 0  # tmp_o and the counters are in use
    launched = []
    monkeypatch.setattr(w, "_check_run", lambda plan, q, k, v, out: (False,) * 4)
    p.kernel = lambda *args: launched.append(args)
    q = torch.randn(3, 32, 128).bfloat16()
    cache = torch.randn(400, 2, 16, 8, 128).bfloat16()
    out = torch.empty_like(q)
    w.run(q, cache, out=out)
    (a,) = launched
    assert len(a) == 15 and a[0] is q and a[6] is out
    want = (p.kv_indices, p.items, p.cta_ptr, p.tmp_o, p.tmp_lse, p.counters)
    assert a[3:6] + a[8:11] == tuple(t.data_ptr() for t in want)
    assert a[11:15] == (p.items.shape[0], p.tmp_o.shape[0], p.grid, p.scale_log2)
    assert all(type(x) is int for x in a[3:6] + a[8:14])


@pytest.mark.parametrize("sort_pages, indptr_list", [(True, False), (False, False), (True, True)])
def test_plan_gpu_path_with_a_stand_in_runtime(planner, monkeypatch, sort_pages, indptr_list):
    """plan()'s GPU-side path on the host: the schedule buffer (with the indptr of a sort_pages plan) sent by one
    cudaMemcpyAsync of the right span on the current stream, the event recorded after it and waited on before the
    next plan rewrites the buffer, then the sort launched on the sent indptr and page ids (a Python stand-in for
    the CUDA runtime and the sort kernel; torch's device and stream queries stubbed)."""
    monkeypatch.setattr(D, "_PLANNER", [planner])
    monkeypatch.setattr(D, "_launch_sort", lambda out, ids, indptr_d, batch, max_pages: calls.append(
        ("sort", out, ids, indptr_d, batch, max_pages)))
    monkeypatch.setattr(D, "_PTR_ARGS", True)
    monkeypatch.setattr(torch._C, "_cuda_getDevice", lambda: 0, raising=False)
    monkeypatch.setattr(torch._C, "_cuda_getCurrentRawStream", lambda i: 777, raising=False)
    calls = []

    class Runtime:
        def cudaMemcpyAsync(self, dst, src, nbytes, kind, stream):
            calls.append(("copy", dst, src, nbytes, kind, stream))
            return 0

        def cudaEventCreateWithFlags(self, ev, flags):
            ev._obj.value = 4242
            return 0

        def cudaEventRecord(self, ev, stream):
            calls.append(("record", ev.value, stream))
            return 0

        def cudaEventSynchronize(self, ev):
            calls.append(("sync", ev.value))
            return 0

        def cudaEventDestroy(self, ev):
            return 0

        def cudaMemsetAsync(self, ptr, value, nbytes, stream):
            calls.append(("memset", ptr, value, nbytes, stream))
            return 0

    kv_lens = [40, 0, 5000, 700]
    indptr, indices, last = table(kv_lens, 16)
    if indptr_list:  # a list: the numpy planner's path (the compiled one takes int32 CPU tensors)
        indptr = indptr.tolist()
    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(device="cpu")
    w.plan(indptr, indices, last, 32, 8, 128, 16)  # host-only plan: makes the schedule buffer
    sched = w._sched
    w._on_gpu, sched.rt, sched.dev_index = True, Runtime(), 0
    want = w._plan
    for step in range(3):
        w.plan(indptr, indices, last, 32, 8, 128, 16, sort_pages=sort_pages)
        p = w._plan
        # last: the first-tile page-id cache of the plan's CTAs invalidated (the counters buffer's tail)
        n_ids = p.grid * D.DECODE_TILES[128][0]
        cnt = p.counters
        assert calls.pop() == ("memset", cnt.data_ptr() + (cnt.shape[0] - n_ids) * 4, 0, n_ids * 4, 777)
        assert cnt.shape[0] - n_ids >= max(p.work.num_splits, 1)  # clear of the split counters
        copy = [c for c in calls if c[0] == "copy"][-1]
        nnz = int(indptr[-1])
        assert copy == ("copy", sched.dev_ptr, sched.host_ptr, (sched.idx_at + nnz) * 4, 1, 777)
        assert sched.indptr_at < sched.items_at < sched.idx_at  # the indptr region lies inside the copied span
        if sort_pages:  # after the record: the event guards the host buffer only, not the sort
            want_ip = list(indptr) if indptr_list else indptr.tolist()
            assert calls[-2:] == [("record", 4242, 777), ("sort", sched.idx_d, sched.idx_d, sched.indptr_d.data_ptr(),
                                                          len(want_ip) - 1, int(np.diff(want_ip).max()))]
            assert sched.indptr_h[: len(want_ip)].tolist() == want_ip
        else:
            assert calls[-1] == ("record", 4242, 777)
        assert sched.pending
        assert [c for c in calls if c[0] == "sync"] == [("sync", 4242)] * step  # each later plan waits first
        assert p.kv_indices is sched.idx_d and p.items is sched.items_d and p.cta_ptr is sched.cta_d
        assert np.array_equal(p.items.numpy()[: want.items.shape[0]], want.items.numpy())
        assert np.array_equal(sched.idx_h[:nnz], indices.numpy())
        assert p.ptr_args[:3] == (sched.idx_d.data_ptr(), sched.items_d.data_ptr(), sched.cta_d.data_ptr())
        assert p.ptr_args[6:] == (sched.item_cap, p.tmp_o.shape[0]) and p.grid == want.grid
    sched.pending = False  # (no real event to wait on at teardown)


@pytest.fixture
def max_parts_off(planner):
    yield
    D.set_max_parts(0, planner)
    D.set_max_parts(0, None)


@pytest.mark.parametrize("max_parts", [1, 2, 3, 8, 12])
def test_compiled_planner_equals_numpy_with_max_parts(planner, max_parts, max_parts_off):
    D.set_max_parts(max_parts, planner)
    assert D.MAX_PARTS == max_parts and planner.plan_set_max_parts(-1) == max_parts
    rng = np.random.default_rng(100 + max_parts)
    for _ in range(600):
        assert_same_schedule(planner, *random_batch(rng))
    for kv_lens in ([32768], [32768] * 8, [16384] * 16, [32768] + [512] * 63, [4096] * 64):
        for page_size in (1, 16):
            assert_same_schedule(planner, kv_lens, page_size, 32, 8, 128, SMS)


@pytest.mark.parametrize("max_parts, ctas, parts", [(0, 128, 16), (8, 64, 8), (12, 96, 12), (16, 128, 16)])
def test_max_parts_caps_the_parts_of_one_long_request(planner, max_parts, ctas, parts, max_parts_off):
    D.set_max_parts(max_parts, planner)
    w = plan_decode_work([32768], [0], 32, 8, 128, SMS, page_size=16)
    assert w.num_ctas == ctas and w.num_splits == 8
    assert (w.items[:, Item.NUM_PARTS] == parts).all()
    covered = {}
    for row in w.items:
        covered.setdefault(int(row[Item.KV_HEAD]), []).append((int(row[Item.KV_START]), int(row[Item.KV_END])))
    for spans in covered.values():  # each sequence's parts tile [0, 32768)
        spans.sort()
        assert spans[0][0] == 0 and spans[-1][1] == 32768
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    # a batch with more sequences than MAX_PARTS x ... leaves the plan as it was
    D.set_max_parts(0, planner)
    base = plan_decode_work([4096] * 64, np.arange(64) * 256, 32, 8, 128, SMS, page_size=16)
    D.set_max_parts(max_parts or 1, planner)
    capped = plan_decode_work([4096] * 64, np.arange(64) * 256, 32, 8, 128, SMS, page_size=16)
    assert np.array_equal(base.items, capped.items) and np.array_equal(base.cta_ptr, capped.cta_ptr)


def test_sort_request_pages_keeps_sets_and_last_pages():
    """``sort_request_pages_``: each request's ids but its last ascending, the last one last; empty and one-page
    requests untouched; shared ids (prefix pages) allowed; in place or into another buffer."""
    from cute_attn.decode import sort_request_pages_

    gen = torch.Generator().manual_seed(5)
    pages = [5, 0, 1, 9, 2, 0, 7]
    indptr = np.concatenate([[0], np.cumsum(pages)])
    ids = torch.randint(0, 40, (int(indptr[-1]) + 3,), generator=gen, dtype=torch.int32)  # repeats: shared pages
    out = torch.full_like(ids, -1)
    sort_request_pages_(out, ids, indptr)
    for b in range(len(pages)):
        s, e = int(indptr[b]), int(indptr[b + 1])
        got, orig = out[s:e].tolist(), ids[s:e].tolist()
        assert sorted(got) == sorted(orig)
        if e > s:
            assert got[-1] == orig[-1] and got[:-1] == sorted(orig[:-1])
    assert out[int(indptr[-1]):].tolist() == [-1] * 3  # nothing past nnz
    inplace = ids.clone()
    sort_request_pages_(inplace, inplace, indptr)
    assert torch.equal(inplace[: int(indptr[-1])], out[: int(indptr[-1])])


def test_wrapper_sort_pages_on_host(which_planner):
    """plan(sort_pages=True): the plan's page ids are each request's sorted (its last page last), the caller's
    kv_indices untouched; the schedule is the unsorted plan's."""
    indptr, _, last = table([40, 0, 1000, 17], 16)
    ids = torch.randperm(int(indptr[-1]), generator=torch.Generator().manual_seed(1)).to(torch.int32)
    before = ids.clone()
    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(device="cpu")
    w.plan(indptr, ids, last, 32, 8, 128, 16)
    items = w._plan.items.clone()
    w.plan(indptr, ids, last, 32, 8, 128, 16, sort_pages=True)
    assert torch.equal(ids, before) and torch.equal(w._plan.items, items)
    got = w._plan.kv_indices
    for b in range(4):
        s, e = int(indptr[b]), int(indptr[b + 1])
        if e > s:
            assert got[s:e - 1].tolist() == sorted(ids[s:e - 1].tolist()) and int(got[e - 1]) == int(ids[e - 1])
    with pytest.raises(TypeError, match="sort_pages"):
        w.plan(indptr, ids, last, 32, 8, 128, 16, sort_pages=1)


def test_schedule_indptr_region_grows_with_the_batch(which_planner):
    """The schedule buffer's kv_indptr region (the sort kernel's input, sent in the schedule's one copy) holds
    batch + 1 entries for every plan: a later, larger batch regrows the buffer instead of overrunning the region,
    and a smaller one reuses it."""
    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(device="cpu")
    for lens in ([40, 7], [100] * 300, [5] * 20):
        indptr, indices, last = table(lens, 16)
        w.plan(indptr, indices, last, 32, 8, 128, 16)
        s = w._sched
        assert s.indptr_cap >= len(lens) + 1 and len(s.indptr_h) == s.indptr_cap == len(s.indptr_d)
        assert s.cta_cap <= s.indptr_at and s.indptr_at + s.indptr_cap <= s.items_at
        assert s.indptr_at % 4 == 0 and s.items_at % 4 == 0
    assert w._sched.indptr_cap >= 301


@pytest.mark.parametrize("kv_lens", [[40, 0, 5000, 700], [1], [0, 0], [32768] + [512] * 63, [17] * 9])
def test_planners_report_the_largest_request_page_count(planner, kv_lens, monkeypatch):
    """The compiled planner's info[7] (the sort launch's grid: the largest request's page count) equals the numpy
    path's count, and the page table's own."""
    monkeypatch.setattr(D, "_PLANNER", [planner])
    indptr, indices, last = table(kv_lens, 16)
    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(device="cpu")
    spec = D._decode_spec(torch.bfloat16, 128)
    args = (indptr, indices, last, (32, 8), spec, 16, SMS)
    got = w._plan_compiled(*args)
    assert got is not None
    want = int(np.diff(indptr.numpy()).max())
    assert got[-1] == want == w._plan_numpy(*args)[-1]


@pytest.mark.parametrize(
    "kv_lens,hq,hk,d,max_heads,heads,per_cta",
    [
        ([4096] * 64, 32, 8, 128, 8, 4, 1),  # 64 x 4k: 4 whole sequences per CTA -> one item of 4 kv heads
        ([1024] * 128, 32, 8, 128, 8, 8, 1),  # 128 x 1k: 8 -> one of 8
        ([1024] * 128, 32, 8, 128, 4, 4, 2),  # capped at 4: two items of 4
        ([4096] * 32, 32, 8, 128, 8, 2, 1),
        ([512] * 256, 32, 8, 128, 8, 8, 2),  # 16 per CTA: two items of 8
        ([1024] * 128, 128, 8, 128, 8, 4, 2),  # 16 query heads per kv head: 4 x 16 = 64 rows at most
        ([1024] * 128, 32, 8, 64, 8, 8, 1),  # hd64 too (its default stage count)
        ([1024] * 128, 32, 8, 256, 8, 1, 8),  # hd256: no item_heads variant
        ([1024] * 128, 32, 8, 128, 1, 1, 8),  # off
        ([16384] * 16, 32, 8, 128, 8, 1, 1),  # one sequence per CTA already
        ([32768] * 8, 32, 8, 128, 8, 1, None),  # splits
        ([1000, 1024] * 64, 32, 8, 128, 8, 8, 1),  # uneven, but every cut snapped to a sequence end: 8 per CTA
        ([1000, 3000] * 64, 32, 8, 128, 8, 1, None),  # cuts inside sequences
    ],
)
def test_items_of_several_kv_heads(planner, kv_lens, hq, hk, d, max_heads, heads, per_cta, monkeypatch):
    """Plans whose CTAs would each run k > 1 whole sequences run k / H items of H kv heads (ITEM_HEADS, H dividing k
    and the kv heads, H x group <= 64 rows; hd64 / hd128): the same bytes on each CTA as the plan of one kv head per
    item, whose runs of H stream-adjacent sequences they are; both planners alike (the mixed pass off: its own test)."""
    monkeypatch.setattr(D, "MIXED_ITEM_HEADS", False)
    w = check_schedule(kv_lens, hq, hk, d, max_item_heads=max_heads)
    assert D.item_heads_of(w, hq, hk) == heads
    if per_cta is not None:
        assert np.all(np.diff(w.cta_ptr) == per_cta)
    # the plan of one kv head per item in stream order (no head-minor order)
    with monkeypatch.context() as m:
        m.setattr(D, "HEAD_MINOR_MIN_PAGE", 0)
        stream = plan_decode_work(kv_lens, np.arange(len(kv_lens)) * 1000, hq, hk, d, SMS, max_item_heads=1)

    def kv_rows(x, h):  # KV rows (of one kv head) each CTA reads
        rows = (x.items[:, Item.KV_END] - x.items[:, Item.KV_START]).astype(np.int64) * h
        return np.array([rows[x.cta_ptr[c]:x.cta_ptr[c + 1]].sum() for c in range(x.num_ctas)])

    assert w.num_ctas == stream.num_ctas and np.array_equal(kv_rows(w, heads), kv_rows(stream, 1))
    if heads > 1:
        want = stream.items[::heads].copy()
        want[:, Item.ROWS] *= heads
        want[:, Item.HEADS_LOG2] = heads.bit_length() - 1
        assert np.array_equal(w.items, want) and np.array_equal(w.cta_ptr * heads, stream.cta_ptr)
    indptr = np.concatenate(([0], np.cumsum([(n + 15) // 16 for n in kv_lens])))
    last = np.array([(n - 1) % 16 + 1 for n in kv_lens])
    got = D.plan_decode_work_compiled(planner, indptr, last, 16, hq, hk, d, SMS, max_item_heads=max_heads)
    ref = plan_decode_work(kv_lens, indptr[:-1], hq, hk, d, SMS, page_size=16, max_item_heads=max_heads)
    assert np.array_equal(got.items, ref.items) and np.array_equal(got.cta_ptr, ref.cta_ptr)


def test_items_of_several_kv_heads_emulated_equal_the_reference():
    """The kernel contract of an item of H kv heads (query row j reads kv head KV_HEAD + j // group), emulated in
    float64 on a plan that makes them, against the paged reference."""
    kv_lens, hq, hk, d, page_size, sms = [300] * 16, 16, 4, 128, 16, 16
    w = emulated_equals_reference(3, kv_lens, hq, hk, d, page_size, sms)
    assert D.item_heads_of(w, hq, hk) == 4 and w.num_ctas == sms


@pytest.mark.parametrize(
    "kv_lens,hq,hk,d",
    [
        ([32768] + [512] * 63, 32, 8, 128),  # the skewed case: the short requests' runs of 8 heads merge
        (np.random.default_rng(0).integers(1, 8192, 256).tolist(), 32, 8, 128),  # bench.decode_host's batch
        (np.random.default_rng(1).integers(0, 3000, 100).tolist(), 32, 8, 64),
        ([1000, 3000] * 64, 32, 8, 128),  # cuts inside sequences
        ([700, 1, 3000, 0, 65] * 30, 64, 8, 128),  # GQA 8: runs of at most 8 heads (64 rows)
        ([700, 1, 3000, 0, 65] * 30, 128, 8, 128),  # GQA 16: at most 4
        ([2000, 3] * 40, 12, 6, 128),  # 6 kv heads: runs of 2 (and 4 where aligned)
        ([5000, 17, 300] * 20, 128, 1, 128),  # MQA, 128 query heads: two head blocks, nothing to merge
        ([1024] * 128, 32, 8, 256),  # hd256: no run-time-H variant
    ],
)
def test_mixed_item_heads(planner, kv_lens, hq, hk, d, monkeypatch):
    """The mixed pass (MIXED_ITEM_HEADS, session 24; an off-by-default knob): where the uniform rule does not apply, each
    CTA's runs of H whole sequences of one request (kv heads h .. h + H - 1, h a multiple of H) are one item of H heads,
    every other item as in the plan without the pass; the same CTAs and bytes per CTA; both planners bit for bit; off
    with MAX_ITEM_HEADS = 1."""
    monkeypatch.setattr(D, "MIXED_ITEM_HEADS", True)
    kv_lens = [int(n) for n in kv_lens]
    w = check_schedule(kv_lens, hq, hk, d)
    off = check_schedule(kv_lens, hq, hk, d, mixed_item_heads=False)
    group = hq // hk
    can = d in D.ITEM_HEADS_HEAD_DIMS and 2 * group <= MAX_ROWS and hk > 1
    assert w.mixed_heads == (can and D.item_heads_of(off, hq, hk) == 1 and not np.array_equal(w.items, off.items))
    assert w.num_ctas == off.num_ctas and w.num_splits == off.num_splits and w.tmp_rows == off.tmp_rows
    assert np.array_equal(cta_bytes(w, d), cta_bytes(off, d))
    # expanding each item of H heads back into its H rows gives the plan without the pass
    rows = []
    for it in w.items:
        h = 1 << int(it[Item.HEADS_LOG2])
        for j in range(h):
            r = it.copy()
            r[Item.KV_HEAD] += j
            r[Item.HEAD0] += j * group
            r[Item.ROWS] //= h
            r[Item.HEADS_LOG2] = 0
            rows.append(r)
    if D.item_heads_of(off, hq, hk) == 1:
        assert np.array_equal(np.array(rows), off.items)
    if can:  # the pass leaves no mergeable pair: no two adjacent whole one-head items of a CTA and a request on kv
        # heads 2j, 2j + 1
        it = w.items
        cta = np.repeat(np.arange(w.num_ctas), np.diff(w.cta_ptr))
        free = (it[:, Item.HEADS_LOG2] == 0) & (it[:, Item.NUM_PARTS] == 0)
        pair = (free[:-1] & free[1:] & (cta[:-1] == cta[1:]) & (it[:-1, Item.BATCH] == it[1:, Item.BATCH])
                & (it[:-1, Item.KV_HEAD] % 2 == 0) & (it[1:, Item.KV_HEAD] == it[:-1, Item.KV_HEAD] + 1))
        assert not pair.any()
    indptr = np.concatenate(([0], np.cumsum([(n + 15) // 16 for n in kv_lens])))
    last = np.array([(n - 1) % 16 + 1 if n else 0 for n in kv_lens])
    got = D.plan_decode_work_compiled(planner, indptr, last, 16, hq, hk, d, SMS)
    ref = plan_decode_work(kv_lens, indptr[:-1], hq, hk, d, SMS, page_size=16)
    assert np.array_equal(got.items, ref.items) and np.array_equal(got.cta_ptr, ref.cta_ptr)
    assert got.mixed_heads == ref.mixed_heads
    one = plan_decode_work(kv_lens, indptr[:-1], hq, hk, d, SMS, page_size=16, max_item_heads=1)
    assert not one.mixed_heads and np.all(one.items[:, Item.HEADS_LOG2] == 0)


def test_mixed_item_heads_emulated_equal_the_reference(monkeypatch):
    """A plan of the mixed pass (items of 1, 2, 4 and 8 kv heads, splits among them), emulated in float64 as the kernel
    computes it, against the paged reference."""
    monkeypatch.setattr(D, "MIXED_ITEM_HEADS", True)
    kv_lens, hq, hk, d, page_size, sms = [4000, 300, 1, 0, 900, 77, 2500, 5], 16, 8, 64, 16, 12
    w = check_schedule(kv_lens, hq, hk, d, sms)
    heads = set((1 << w.items[:, Item.HEADS_LOG2]).tolist())
    assert w.mixed_heads and w.num_splits > 0 and len(heads) >= 3, heads
    emulated_equals_reference(5, kv_lens, hq, hk, d, page_size, sms)


def test_mixed_item_heads_is_off_by_default():
    """MIXED_ITEM_HEADS is off (session 24 call 5 measured no gain): a mixed-length plan keeps one kv head per item and the
    default variant, numpy and compiled planners alike."""
    assert D.MIXED_ITEM_HEADS is False
    kv_lens = np.random.default_rng(0).integers(1, 8192, 256).tolist()
    w = plan_decode_work(kv_lens, np.zeros(256), 32, 8, 128, SMS)
    assert not w.mixed_heads and np.all(w.items[:, Item.HEADS_LOG2] == 0)
    wr = cute_attn.BatchDecodeWithPagedKVCacheWrapper(device="cpu")
    wr.plan(*table(kv_lens, 16), 32, 8, 128, 16)
    assert wr._plan.spec.name == "decode_bf16_headdim128_sm90a" and not wr._plan.work.mixed_heads
