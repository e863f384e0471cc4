"""Host checks of session 21's decode bench helpers: the rate-weighted schedule of ``bench/decode_weighted_plan.py`` (a
valid decode schedule: every KV row of every sequence once, splits numbered and sized as the kernel reads them, each CTA's
rows in proportion to its weight) and the chunked-sort reference of ``bench/decode_sort_cost.py``."""

import numpy as np
import pytest
import torch

import cute_attn.decode as dec
from cute_attn.layouts.decode_work import SORT_PAGES_CHUNK, Item

from bench.decode_sort_cost import chunked_sort
from bench.decode_weighted_plan import TILE, weighted_work


def _default_work(kv_lens, page_size=16):
    kv = np.array(kv_lens)
    base = np.concatenate([[0], np.cumsum(-(-kv // page_size))[:-1]])
    return kv, dec.plan_decode_work(kv, base, 32, 8, 128, 132, page_size=page_size)


@pytest.mark.parametrize("kv_lens", [[4096] * 64, [1024] * 128])
@pytest.mark.parametrize("pieces_first", [True, False])
def test_weighted_work_is_a_valid_schedule(kv_lens, pieces_first):
    kv, work = _default_work(kv_lens)
    assert work.num_splits == 0
    weights = 1 + 0.02 * np.random.default_rng(len(kv_lens)).standard_normal(work.num_ctas)
    ww = weighted_work(work, weights, pieces_first)
    it = ww.items
    assert ww.cta_ptr[0] == 0 and ww.cta_ptr[-1] == len(it) and (np.diff(ww.cta_ptr) >= 0).all()
    pieces = {}
    for r in it:
        pieces.setdefault((r[Item.BATCH], r[Item.KV_HEAD], r[Item.HEAD0]), []).append(r)
    assert len(pieces) == len(work.items)
    tmp_bases = set()
    for (b, _, _), ps in pieces.items():
        ps.sort(key=lambda r: r[Item.KV_START])
        assert ps[0][Item.KV_START] == 0 and ps[-1][Item.KV_END] == kv[b]
        assert all(p[Item.KV_END] == q[Item.KV_START] for p, q in zip(ps, ps[1:]))
        if len(ps) == 1:
            assert ps[0][Item.MERGE_ID] == -1
        else:
            assert len({p[Item.MERGE_ID] for p in ps}) == 1 and len({p[Item.TMP_BASE] for p in ps}) == 1
            assert [p[Item.PART] for p in ps] == list(range(len(ps))) and all(p[Item.NUM_PARTS] == len(ps) for p in ps)
            assert all(p[Item.KV_END] - p[Item.KV_START] >= TILE for p in ps)
            tmp_bases.add(int(ps[0][Item.TMP_BASE]))
    assert len(tmp_bases) == ww.num_splits and max(tmp_bases) < ww.tmp_rows
    per = np.array([(it[a:b, Item.KV_END] - it[a:b, Item.KV_START]).sum() for a, b in zip(ww.cta_ptr, ww.cta_ptr[1:])])
    assert np.abs(per - weights / weights.sum() * per.sum()).max() <= 2 * TILE
    if pieces_first:  # a CTA's split pieces come before its whole sequences
        for a, b in zip(ww.cta_ptr, ww.cta_ptr[1:]):
            split = it[a:b, Item.MERGE_ID] >= 0
            assert not (np.diff(split.astype(int)) > 0).any()


def test_equal_weights_keep_the_default_schedule():
    _, work = _default_work([4096] * 64)
    ww = weighted_work(work, np.ones(work.num_ctas), True)
    assert ww.num_splits == 0 and (ww.items == work.items).all() and (ww.cta_ptr == work.cta_ptr).all()


def test_chunked_sort_reference():
    pages = [5, 0, 1, SORT_PAGES_CHUNK + 3]
    indptr = np.concatenate([[0], np.cumsum(pages)])
    ids = torch.randperm(int(indptr[-1]), dtype=torch.int32)
    got = chunked_sort(ids, indptr)
    s, e = int(indptr[3]), int(indptr[4])
    assert torch.equal(got[s:s + SORT_PAGES_CHUNK], torch.sort(ids[s:s + SORT_PAGES_CHUNK]).values)
    assert torch.equal(got[s + SORT_PAGES_CHUNK:e - 1], torch.sort(ids[s + SORT_PAGES_CHUNK:e - 1]).values)
    assert got[e - 1] == ids[e - 1] and torch.equal(got[:5][:4], torch.sort(ids[:4]).values) and got[4] == ids[4]


def test_graph_ab_spread_moves_only_the_empty_ctas(monkeypatch):
    """bench/decode_graph_ab.py ``_spread`` (session 24): a graph-mode plan's CTA ranges with the CTAs past the plan's
    own at the chosen blockIdx, the plan's CTAs in order elsewhere (the same ranges, a prefix sum), on a CPU plan."""
    import cute_attn
    from bench.decode_graph_ab import _spread

    monkeypatch.setattr(torch.cuda, "synchronize", lambda: None)
    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(device="cpu", use_cuda_graph=True)
    lens = [4096] * 64
    indptr = torch.tensor([0] + np.cumsum([256] * 64).tolist(), dtype=torch.int32)
    w.plan(indptr, torch.arange(256 * 64, dtype=torch.int32), torch.full((64,), 16, dtype=torch.int32), 32, 8, 128, 16)
    p = w._plan
    p.cta_ptr = torch.zeros(p.grid + 8, dtype=torch.int32)  # a GPU plan's fixed-capacity buffer (a CPU plan has n + 1)
    own = p.work.cta_ptr.copy()
    assert p.grid == 132 and p.work.num_ctas == 128 and len(lens) == 64
    _spread(p, [111, 113, 129, 131])
    ptr = p.cta_ptr[:133].numpy()
    sizes = np.diff(ptr)
    assert [b for b in range(132) if sizes[b] == 0] == [111, 113, 129, 131]
    assert np.array_equal(sizes[sizes > 0], np.diff(own)) and ptr[-1] == own[-1]
    with pytest.raises(AssertionError):
        _spread(p, [131])  # fewer slots than empty CTAs


def test_decode_ab_mixed_case_lens():
    """bench/decode_ab.py ``case_lens``: ``mixed B x LO..HI`` draws B lengths in [LO, HI) with a fixed seed (the same
    batch in every process), besides the named cases and ``B x Nk``."""
    from bench.decode_ab import case_lens

    a = case_lens("mixed 256 x 1..8192")
    assert len(a) == 256 and min(a) >= 1 and max(a) < 8192 and a == case_lens("mixed 256 x 1..8192")
    assert case_lens("64 x 4k") == [4096] * 64 and case_lens("1 x 32k") == [32768]


def test_graph_ab_sm_cap_swaps_and_restores_the_sm_count():
    """bench/decode_graph_ab.py ``sm_cap`` (session 25): plans made inside see N SMs; the real count comes back after,
    also when the body raises."""
    import cute_attn.decode as CD
    from bench.decode_graph_ab import sm_cap

    real = CD._num_sms
    with sm_cap(128):
        assert CD._num_sms(torch.device("cuda", 0)) == 128
    assert CD._num_sms is real
    with pytest.raises(KeyError), sm_cap(64):
        raise KeyError("body")
    assert CD._num_sms is real


def test_graph_ab_add_graph_names_and_no_lag(monkeypatch):
    """bench/decode_graph_ab.py (session 25): ``_add_graph`` launches once, captures, and names ``g_launch[_L]`` /
    ``g_replay[_L]``; ``no_lag`` turns the one-item mark off inside and restores it."""
    import cute_attn.decode as CD
    import bench.decode_graph_ab as A

    class Graph:
        def replay(self):
            calls.append("replay")

    calls, fns = [], {}
    monkeypatch.setattr(A, "_capture", lambda run: Graph())
    A._add_graph(fns, "", lambda: calls.append("main"))
    A._add_graph(fns, "own", lambda: calls.append("own"))
    assert list(fns) == ["g_launch", "g_replay", "g_launch_own", "g_replay_own"] and calls == ["main", "own"]
    fns["g_replay_own"]()
    assert calls[-1] == "replay"
    real = CD.GRAPH_ONE_ITEM_LAG
    with A.no_lag():
        assert CD.GRAPH_ONE_ITEM_LAG is False
    assert CD.GRAPH_ONE_ITEM_LAG is real
