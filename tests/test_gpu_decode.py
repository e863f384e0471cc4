"""GPU: batch decode over a paged KV cache against the float64 reference (needs a Hopper GPU and the
decode artifacts). Outputs are NaN-poisoned (CUTE_ATTN_POISON=1) and every cache slot that no request
owns is NaN, so an unwritten output or a read outside the page table fails."""

import math

import numpy as np
import pytest
import torch

import cute_attn
import cute_attn.decode as D
from cute_attn import reference as R
from cute_attn.layouts.decode_work import Item
from pages import random_page_table
from graph_helpers import capture

pytestmark = pytest.mark.gpu
LENS = [1, 17, 113, 1023, 0, 4097, 5]


@pytest.fixture(autouse=True)
def poison(monkeypatch):
    monkeypatch.setenv("CUTE_ATTN_POISON", "1")


def make_cache(gen, kv_lens, indptr, indices, num_pages, page_size, hk, d, dtype, layout):
    """K and V caches (layout's shape) that hold random rows where a request owns them and NaN elsewhere."""
    k = torch.full((num_pages, page_size, hk, d), float("nan"), dtype=dtype)
    v = torch.full_like(k, float("nan"))
    for b, n in enumerate(kv_lens):
        for r in range(0, n, page_size):
            page = int(indices[int(indptr[b]) + r // page_size])
            rows = min(page_size, n - r)
            k[page, :rows] = torch.randn(rows, hk, d, generator=gen).to(dtype)
            v[page, :rows] = torch.randn(rows, hk, d, generator=gen).to(dtype)
    if layout == "HND":
        k, v = k.transpose(1, 2).contiguous(), v.transpose(1, 2).contiguous()
    return k, v


def reference(q, k, v, indptr, indices, last, scale, layout):
    batch = q.shape[0]
    qo = list(range(batch + 1))
    args = (q.cpu(), k.cpu(), v.cpu(), qo, indptr, indices, last)
    ref_o, ref_l = R.paged_attention(*args, sm_scale=scale, kv_layout=layout)
    low, _ = R.paged_attention(*args, sm_scale=scale, kv_layout=layout, dtype=torch.float32)
    return ref_o, ref_l, low.to(q.dtype).double()


def check(out, lse, ref_o, ref_l, low):
    out, lse = out.cpu().double(), lse.cpu().double()
    assert not torch.isnan(out).any(), "unwritten (NaN) output elements"
    assert not torch.isnan(lse).any(), "unwritten (NaN) LSE elements"
    base_err = (low - ref_o).abs().max().item()
    err = (out - ref_o).abs().max().item()
    assert err <= 3 * base_err + 1e-3, f"max error {err:.3g} vs same-dtype reference {base_err:.3g}"
    assert torch.equal(torch.isneginf(lse), torch.isneginf(ref_l))
    fin = torch.isfinite(ref_l)
    torch.testing.assert_close(lse[fin], ref_l[fin], atol=2e-3, rtol=1e-3)


def run_case(gen, kv_lens, hq, hk, d, page_size, layout="NHD", dtype=torch.bfloat16, sm_scale=None, sort_pages=False,
             ids_on_gpu=False, use_cuda_graph=False):
    num_pages, indptr, indices, last = random_page_table(gen, kv_lens, page_size)
    k, v = make_cache(gen, kv_lens, indptr, indices, num_pages, page_size, hk, d, dtype, layout)
    q = torch.randn(len(kv_lens), hq, d, generator=gen).to(dtype)
    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(kv_layout=layout, use_cuda_graph=use_cuda_graph)
    ids = indices.cuda() if ids_on_gpu else indices
    w.plan(indptr, ids, last, hq, hk, d, page_size, sm_scale=sm_scale, q_data_type=dtype, sort_pages=sort_pages)
    if sort_pages and ids_on_gpu:
        assert torch.equal(ids.cpu(), indices)  # the caller's ids are not sorted in place
    out, lse = w.run(q.cuda(), (k.cuda(), v.cuda()), return_lse=True)
    assert out.shape == q.shape and lse.shape == q.shape[:2] and out.dtype == dtype
    scale = 1 / math.sqrt(d) if sm_scale is None else sm_scale
    check(out, lse, *reference(q, k, v, indptr, indices, last, scale, layout))


def paged_inputs(rng, kv_lens, hq, hk, d, page_size, layout, dtype):
    """(indptr, indices, last, k, v, q) on the host: a shuffled page table, its NaN-padded caches and the queries."""
    num_pages, indptr, indices, last = random_page_table(rng, kv_lens, page_size)
    k, v = make_cache(rng, kv_lens, indptr, indices, num_pages, page_size, hk, d, dtype, layout)
    q = torch.randn(len(kv_lens), hq, d, generator=rng).to(dtype)
    return indptr, indices, last, k, v, q


def three_runs_checked(w, q, cache, k, v, indptr, indices, last, d, layout):
    """Three runs of ``w``'s plan, bit-identical to each other, the first against the reference; returns that first
    run's (out, lse) and the reference."""
    outs = [w.run(q.cuda(), cache, return_lse=True) for _ in range(3)]
    torch.cuda.synchronize()
    for o, lse in outs[1:]:
        assert torch.equal(o, outs[0][0]) and torch.equal(lse, outs[0][1])
    ref = reference(q, k, v, indptr, indices, last, 1 / math.sqrt(d), layout)
    check(*outs[0], *ref)
    return outs[0], ref


@pytest.mark.parametrize("d", [64, 128, 256])
@pytest.mark.parametrize("hq,hk", [(8, 8), (32, 8), (64, 8), (16, 1)])  # MHA, GQA 4, GQA 8, MQA
def test_heads_and_head_dims(rng, d, hq, hk):
    run_case(rng, LENS, hq, hk, d, 16)


@pytest.mark.parametrize("page_size", [1, 16, 64])
@pytest.mark.parametrize("layout", ["NHD", "HND"])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_page_sizes_layouts_dtypes(rng, page_size, layout, dtype):
    run_case(rng, LENS, 32, 8, 128, page_size, layout, dtype, sm_scale=0.07)


@pytest.mark.parametrize("page_size", [1, 16])
@pytest.mark.parametrize("kv_lens", [[32768], [32768, 1, 300, 0, 7000, 64, 65], [2048] * 40])
def test_long_and_skewed_batches(rng, page_size, kv_lens):
    run_case(rng, kv_lens, 32, 8, 128, page_size)


@pytest.mark.parametrize("page_size", [1, 16])
@pytest.mark.parametrize("kv_lens", [LENS, [32768, 5000, 2048]])
@pytest.mark.parametrize("ids_on_gpu,use_cuda_graph", [(False, False), (True, False), (False, True), (True, True)])
def test_sort_pages(rng, page_size, kv_lens, ids_on_gpu, use_cuda_graph):
    """plan(sort_pages=True): each request's pages visited in ascending id (the last page last): the same attention."""
    run_case(rng, kv_lens, 32, 8, 128, page_size, sort_pages=True, ids_on_gpu=ids_on_gpu,
             use_cuda_graph=use_cuda_graph)


@pytest.mark.parametrize("max_parts", [2, 3, 5, 12])  # splits of 2, 3, 5, 12 parts (merge: remainder only, 8 + 4)
def test_max_parts_plans(rng, max_parts):
    D.set_max_parts(max_parts)
    try:
        run_case(rng, [32768], 32, 8, 128, 16)
    finally:
        D.set_max_parts(0)


@pytest.mark.parametrize("d", [128, 64])
@pytest.mark.parametrize("page_size", [1, 16])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_one_item_variant_equals_the_default(rng, page_size, dtype, d):
    """A plan of one work item per CTA (1 x 32k: 16-part splits) runs the 3-stage variant (DECODE_ONE_ITEM_STAGES,
    hd128 and, since session 25, hd64); the default 4-stage kernel on the same plan gives the same bits (the depth
    changes no arithmetic), and both meet the reference."""
    from cute_attn.artifacts import get_kernel

    kv_lens, hq, hk = [32768], 32, 8
    num_pages, indptr, indices, last = random_page_table(rng, kv_lens, page_size)
    k, v = make_cache(rng, kv_lens, indptr, indices, num_pages, page_size, hk, d, dtype, "NHD")
    q = torch.randn(1, hq, d, generator=rng).to(dtype)
    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper()
    w.plan(indptr, indices, last, hq, hk, d, page_size, q_data_type=dtype)
    assert w._plan.spec.stages == 3 and w._plan.work.items.shape[0] == w._plan.grid
    cache = (k.cuda(), v.cuda())
    o3, l3 = w.run(q.cuda(), cache, return_lse=True)
    o3, l3 = o3.clone(), l3.clone()
    w._plan.kernel = get_kernel(D._decode_spec(dtype, d))  # the default variant, same plan and buffers
    o4, l4 = w.run(q.cuda(), cache, return_lse=True)
    assert torch.equal(o3, o4) and torch.equal(l3, l4)
    check(o3, l3, *reference(q, k, v, indptr, indices, last, 1 / math.sqrt(d), "NHD"))


def test_mqa_more_than_64_query_heads(rng):
    run_case(rng, [513, 0, 3000], 128, 1, 128, 16)


def test_split_equals_unsplit(rng, monkeypatch):
    kv_lens, hq, hk, d, ps = [32768, 9000, 1, 0, 4000], 32, 8, 128, 16
    num_pages, indptr, indices, last = random_page_table(rng, kv_lens, ps)
    k, v = make_cache(rng, kv_lens, indptr, indices, num_pages, ps, hk, d, torch.bfloat16, "NHD")
    q = torch.randn(len(kv_lens), hq, d, generator=rng).bfloat16().cuda()
    cache = (k.cuda(), v.cuda())
    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper()
    w.plan(indptr, indices, last, hq, hk, d, ps)
    assert w._plan.work.num_splits > 0
    split_o, split_l = w.run(q, cache, return_lse=True)
    # either planner, one CTA: nothing split. A fresh wrapper: a wrapper keeps the SM count of its first plan() with
    # the same scalar arguments (cached with their checks), so re-planning `w` would not see the patched count
    monkeypatch.setattr(D, "_num_sms", lambda device: 1)
    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper()
    w.plan(indptr, indices, last, hq, hk, d, ps)
    assert w._plan.work.num_splits == 0
    whole_o, whole_l = w.run(q, cache, return_lse=True)
    torch.testing.assert_close(split_o.float(), whole_o.float(), atol=1e-2, rtol=1e-2)
    torch.testing.assert_close(split_l, whole_l, atol=1e-4, rtol=1e-5)
    assert (split_o.float() - whole_o.float()).abs().max().item() <= 2 * 2**-8 * whole_o.float().abs().max().item()


def test_strided_q_and_stacked_cache(rng):
    """q as a slice of a fused QKV projection, the cache as one (pages, 2, ...) tensor, out as a view."""
    kv_lens, hq, hk, d, ps = [100, 2000, 3], 8, 2, 128, 16
    num_pages, indptr, indices, last = random_page_table(rng, kv_lens, ps)
    k, v = make_cache(rng, kv_lens, indptr, indices, num_pages, ps, hk, d, torch.bfloat16, "NHD")
    qkv = torch.randn(3, hq + 2 * hk, d, generator=rng).bfloat16()
    q = qkv[:, :hq]
    cache = torch.stack([k, v], dim=1).cuda()
    out_buf = torch.full((3, hq, 2 * d), float("nan"), dtype=torch.bfloat16, device="cuda")
    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper()
    w.plan(indptr, indices, last, hq, hk, d, ps)
    _, lse = w.run(qkv.cuda()[:, :hq], cache, out=out_buf[:, :, d:], return_lse=True)
    assert torch.isnan(out_buf[:, :, :d]).all(), "wrote outside the out view"
    check(out_buf[:, :, d:], lse, *reference(q, k, v, indptr, indices, last, 1 / math.sqrt(d), "NHD"))


def shuffled_tables(rng, num_pages, page_size):
    """``table(lens)`` -> (kv_indptr, kv_indices, kv_last_page_len) of requests of those lengths over a fresh random choice
    of the cache's ``num_pages`` pages (one shuffled id list per test, re-drawn per table)."""
    pages = torch.randperm(num_pages, generator=rng).to(torch.int32)

    def table(lens):
        per = [(n + page_size - 1) // page_size for n in lens]
        indptr = torch.tensor([0] + torch.tensor(per).cumsum(0).tolist(), dtype=torch.int32)
        last = torch.tensor([(n - 1) % page_size + 1 if n else 0 for n in lens], dtype=torch.int32)
        return indptr, pages[torch.randperm(num_pages, generator=rng)[: int(indptr[-1])]].contiguous(), last

    return table


def test_graph_replay_after_replan_equals_eager(rng):
    hq, hk, d, ps = 32, 8, 128, 16
    lens_a, lens_b = [3000, 17, 0, 20000], [1, 40000, 513, 9]
    num_pages = 4000
    table = shuffled_tables(rng, num_pages, ps)

    k = torch.randn(num_pages, ps, hk, d, generator=rng).bfloat16().cuda()
    v = torch.randn(num_pages, ps, hk, d, generator=rng).bfloat16().cuda()
    q = torch.randn(4, hq, d, generator=rng).bfloat16().cuda()
    indices_buf = torch.empty(num_pages, dtype=torch.int32, device="cuda")
    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(use_cuda_graph=True, paged_kv_indices_buffer=indices_buf)
    eager = cute_attn.BatchDecodeWithPagedKVCacheWrapper()
    ta, tb = table(lens_a), table(lens_b)
    w.plan(*ta, hq, hk, d, ps)
    w.run(q, (k, v))  # eager first: loads the kernel
    g, (out, lse) = capture(lambda: w.run(q, (k, v), return_lse=True))
    for t in (ta, tb, ta):
        w.plan(*t, hq, hk, d, ps)
        g.replay()
        eager.plan(*t, hq, hk, d, ps)
        e_out, e_lse = eager.run(q, (k, v), return_lse=True)
        torch.cuda.synchronize()
        torch.testing.assert_close(out.float(), e_out.float(), atol=1e-2, rtol=1e-2)
        torch.testing.assert_close(lse, e_lse, atol=1e-4, rtol=1e-5)
        ref = reference(q.cpu(), k.cpu(), v.cpu(), t[0], t[1], t[2], 1 / math.sqrt(d), "NHD")
        check(out, lse, *ref)


@pytest.mark.parametrize("d,batch,heads", [(128, 128, 8), (128, 64, 4), (64, 128, 8), (64, 64, 4)])
@pytest.mark.parametrize("page_size", [1, 16])
def test_graph_replay_switches_item_heads(rng, d, batch, heads, page_size):
    """CUDA-graph mode captures the run-time-H variant (cute_attn.decode GRAPH_ITEM_HEADS): one captured launch replayed
    after replans that switch between items of H kv heads (equal lengths: k whole sequences per CTA), items of several
    head counts (mixed lengths: the mixed pass, with splits) and one head per item (one long request split), and back;
    every replay equals an eager run (the static item_heads variants, the run-time-H one, the default) and the
    reference."""
    hq, hk, total = 32, 8, 40000
    num_pages = total // page_size + batch + 8
    table = shuffled_tables(rng, num_pages, page_size)

    k = torch.randn(num_pages, page_size, hk, d, generator=rng).bfloat16().cuda()
    v = torch.randn(num_pages, page_size, hk, d, generator=rng).bfloat16().cuda()
    q = torch.randn(batch, hq, d, generator=rng).bfloat16().cuda()
    mixed = torch.randint(0, 600, (batch,), generator=rng).tolist()
    mixed[:3] = [0, 1, 113]
    # (lengths, the plan's item_heads_of: H of the uniform rule, else 1 (0 where the mixed pass, an off-by-default knob,
    # made items of several head counts)
    plans = [([300] * batch, heads), (mixed, 1), ([8000] + [1] * (batch - 1), 1), ([150] * batch, heads)]
    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(
        use_cuda_graph=True, paged_kv_indices_buffer=torch.empty(num_pages, dtype=torch.int32, device="cuda"))
    eager = cute_attn.BatchDecodeWithPagedKVCacheWrapper()
    graph = None
    for lens, want_heads in plans + plans[:2]:
        t = table(lens)
        w.plan(*t, hq, hk, d, page_size)
        got = D.item_heads_of(w._plan.work, hq, hk)
        assert w._plan.spec.dyn_heads and (got == want_heads or (want_heads == 1 and got == 0 and D.MIXED_ITEM_HEADS))
        if graph is None:
            w.run(q, (k, v))  # eager first: loads the kernel
            graph, (out, lse) = capture(lambda: w.run(q, (k, v), return_lse=True))
            w.plan(*t, hq, hk, d, page_size)  # the replays start from a fresh plan
        graph.replay()
        eager.plan(*t, hq, hk, d, page_size)
        assert eager._plan.spec.item_heads == max(got, 1) and eager._plan.spec.dyn_heads == (got == 0)
        e_out, e_lse = eager.run(q, (k, v), return_lse=True)
        torch.cuda.synchronize()
        torch.testing.assert_close(out.float(), e_out.float(), atol=1e-2, rtol=1e-2)
        torch.testing.assert_close(lse, e_lse, atol=1e-4, rtol=1e-5)
        check(out, lse, *reference(q.cpu(), k.cpu(), v.cpu(), t[0], t[1], t[2], 1 / math.sqrt(d), "NHD"))


@pytest.mark.parametrize(
    "kv_lens,hq,hk,d",
    [
        ([3000] + [200] * 40 + [0, 1, 113], 32, 8, 128),  # skewed: the short requests' runs merge, the long one splits
        ([700, 1, 3000, 0, 65, 1023] * 12, 64, 8, 128),  # GQA 8: runs of up to 8 heads (64 rows)
        ([700, 1, 3000, 0, 65, 1023] * 12, 128, 8, 128),  # GQA 16: up to 4
        ([2000, 3, 513] * 30, 12, 6, 128),  # 6 kv heads: runs of 2 and 4
        ([900, 17, 4097, 300] * 20, 32, 8, 64),  # hd64
        ([5000, 1, 64, 2047] * 10, 8, 8, 128),  # MHA
    ],
)
@pytest.mark.parametrize("page_size", [1, 16])
@pytest.mark.parametrize("layout", ["NHD", "HND"])
def test_mixed_item_heads(rng, kv_lens, hq, hk, d, page_size, layout, monkeypatch):
    """Plans of the mixed pass (cute_attn.decode MIXED_ITEM_HEADS, an off-by-default knob: runs of H whole sequences of
    one request on one CTA as one item among items of one head and split parts) run the run-time-H variant: against the
    reference, three runs bit-identical, and against the plan without the pass within rounding."""
    monkeypatch.setattr(D, "MIXED_ITEM_HEADS", True)
    indptr, indices, last, k, v, q = paged_inputs(rng, kv_lens, hq, hk, d, page_size, layout, torch.bfloat16)
    cache = (k.cuda(), v.cuda())
    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(kv_layout=layout)
    w.plan(indptr, indices, last, hq, hk, d, page_size)
    p = w._plan
    assert p.work.mixed_heads and p.spec.dyn_heads and p.work.num_splits > 0
    assert len(set(p.work.items[:, Item.HEADS_LOG2].tolist())) >= 2
    first, ref = three_runs_checked(w, q, cache, k, v, indptr, indices, last, d, layout)
    saved = D.MIXED_ITEM_HEADS
    D.MIXED_ITEM_HEADS = False
    try:
        w.plan(indptr, indices, last, hq, hk, d, page_size)
    finally:
        D.MIXED_ITEM_HEADS = saved
    assert not w._plan.work.mixed_heads and not w._plan.spec.dyn_heads
    o1, l1 = w.run(q.cuda(), cache, return_lse=True)
    check(o1, l1, *ref)
    # two bf16 roundings of P in other blockings (session 24 call 6: one element of 163,840 differed by 2.1e-3 at hd64)
    torch.testing.assert_close(first[0].float(), o1.float(), atol=4e-3, rtol=2e-2)
    torch.testing.assert_close(first[1], l1, atol=1e-4, rtol=1e-5)


def test_gpu_page_table_tensors(rng):
    """kv_indices already on the GPU (no host range check), indptr/last_page_len read back once."""
    kv_lens, hq, hk, d, ps = [77, 0, 1500], 16, 4, 64, 1
    num_pages, indptr, indices, last = random_page_table(rng, kv_lens, ps)
    k, v = make_cache(rng, kv_lens, indptr, indices, num_pages, ps, hk, d, torch.bfloat16, "NHD")
    q = torch.randn(3, hq, d, generator=rng).bfloat16()
    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper()
    w.plan(indptr.cuda(), indices.cuda(), last.cuda(), hq, hk, d, ps)
    out, lse = w.run(q.cuda(), (k.cuda(), v.cuda()), return_lse=True)
    check(out, lse, *reference(q, k, v, indptr, indices, last, 1 / math.sqrt(d), "NHD"))


def test_numpy_planner_fallback(rng, monkeypatch):
    """plan() where the compiled planner is not built and torch's CUDA runtime is not found: the numpy
    planner, the schedule sent by torch's copy."""
    monkeypatch.setattr(D, "_PLANNER", [None])
    monkeypatch.setattr(D, "_CUDART", [None])
    run_case(rng, [32768, 1, 300, 0, 7000, 64, 65], 32, 8, 128, 16)


def test_replans_grow_buffers_and_recheck_page_ids(rng):
    """One wrapper over plans of growing batches (the schedule buffers grow), then a plan whose page
    ids exceed the cache: run() checks again instead of reusing the last plan's checks."""
    hq, hk, d, ps = 32, 8, 128, 16
    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper()
    for kv_lens in ([100, 3], [5000] * 9 + [0], [700] * 40):
        num_pages, indptr, indices, last = random_page_table(rng, kv_lens, ps)
        k, v = make_cache(rng, kv_lens, indptr, indices, num_pages, ps, hk, d, torch.bfloat16, "NHD")
        q = torch.randn(len(kv_lens), hq, d, generator=rng).bfloat16()
        cache = (k.cuda(), v.cuda())
        for _ in range(2):  # the second plan of one geometry reuses the first one's checks
            w.plan(indptr, indices, last, hq, hk, d, ps)
            out, lse = w.run(q.cuda(), cache, return_lse=True)
            check(out, lse, *reference(q, k, v, indptr, indices, last, 1 / math.sqrt(d), "NHD"))
    bad = indices.clone()
    bad[0] = num_pages  # one page past the cache, same geometry otherwise
    w.plan(indptr, bad, last, hq, hk, d, ps)
    with pytest.raises(ValueError, match="kv_indices must lie in"):
        w.run(q.cuda(), cache)


# ---------------------------------------------------------------------------------------------------------------
# Audit (session 5): cases issue 6 lists that the tests above did not cover. Written on a CPU box, not yet run on
# a GPU (bench/AUDIT-s5.md).


@pytest.mark.parametrize("ids_on_gpu", [False, True])
def test_graph_mode_own_index_buffer_replan_equals_eager(rng, ids_on_gpu):
    """use_cuda_graph=True without paged_kv_indices_buffer: the page ids go to the wrapper's own fixed buffer
    (staged from the host, or copied from a GPU tensor), sized by the first plan's kv_indices; replays after
    new plans (other lengths, other pages) equal eager runs and the reference."""
    hq, hk, d, ps = 32, 8, 128, 16
    num_pages = 3000
    pages = torch.randperm(num_pages, generator=rng).to(torch.int32)

    def table(lens):
        per = [(n + ps - 1) // ps for n in lens]
        indptr = torch.tensor([0] + torch.tensor(per).cumsum(0).tolist(), dtype=torch.int32)
        last = torch.tensor([(n - 1) % ps + 1 if n else 0 for n in lens], dtype=torch.int32)
        ids = pages[torch.randperm(num_pages, generator=rng)].contiguous()  # every table num_pages long
        return indptr, ids.cuda() if ids_on_gpu else ids, last

    k = torch.randn(num_pages, ps, hk, d, generator=rng).bfloat16().cuda()
    v = torch.randn(num_pages, ps, hk, d, generator=rng).bfloat16().cuda()
    q = torch.randn(3, hq, d, generator=rng).bfloat16().cuda()
    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(use_cuda_graph=True)
    eager = cute_attn.BatchDecodeWithPagedKVCacheWrapper()
    tables = [table([2000, 0, 30000]), table([1, 513, 9]), table([40000, 17, 7000])]
    w.plan(*tables[0], hq, hk, d, ps)
    w.run(q, (k, v))  # eager first: loads the kernel
    g, (out, lse) = capture(lambda: w.run(q, (k, v), return_lse=True))
    for t in tables + tables[:1]:
        w.plan(*t, hq, hk, d, ps)
        g.replay()
        eager.plan(*t, hq, hk, d, ps)
        e_out, e_lse = eager.run(q, (k, v), return_lse=True)
        torch.cuda.synchronize()
        torch.testing.assert_close(out.float(), e_out.float(), atol=1e-2, rtol=1e-2)
        torch.testing.assert_close(lse, e_lse, atol=1e-4, rtol=1e-5)
        ref = reference(q.cpu(), k.cpu(), v.cpu(), t[0], t[1].cpu(), t[2], 1 / math.sqrt(d), "NHD")
        check(out, lse, *ref)


def test_workspace_buffer_holds_the_split_states(rng):
    """A workspace_buffer large enough for the split-KV partial states holds them; the result is the reference's,
    as with the wrapper's own buffers."""
    kv_lens, hq, hk, d, ps = [32768, 9000, 1, 0, 4000], 32, 8, 128, 16
    num_pages, indptr, indices, last = random_page_table(rng, kv_lens, ps)
    k, v = make_cache(rng, kv_lens, indptr, indices, num_pages, ps, hk, d, torch.bfloat16, "NHD")
    q = torch.randn(len(kv_lens), hq, d, generator=rng).bfloat16()
    ws = torch.empty(32 << 20, dtype=torch.uint8, device="cuda")
    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(ws)
    w.plan(indptr, indices, last, hq, hk, d, ps)
    assert w._plan.work.num_splits > 0
    lo, hi = ws.data_ptr(), ws.data_ptr() + ws.numel()
    assert lo <= w._plan.tmp_o.data_ptr() < hi and lo <= w._plan.tmp_lse.data_ptr() < hi
    out, lse = w.run(q.cuda(), (k.cuda(), v.cuda()), return_lse=True)
    check(out, lse, *reference(q, k, v, indptr, indices, last, 1 / math.sqrt(d), "NHD"))
    own = cute_attn.BatchDecodeWithPagedKVCacheWrapper()
    own.plan(indptr, indices, last, hq, hk, d, ps)
    o2, l2 = own.run(q.cuda(), (k.cuda(), v.cuda()), return_lse=True)
    torch.testing.assert_close(out.float(), o2.float(), atol=1e-2, rtol=1e-2)
    torch.testing.assert_close(lse, l2, atol=1e-4, rtol=1e-5)


def test_empty_batch_and_requests_without_keys(rng):
    """batch 0: empty outputs, no launch; a batch whose requests all have no KV: output 0, LSE -inf."""
    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper()
    none = torch.zeros(0, dtype=torch.int32)
    w.plan(torch.zeros(1, dtype=torch.int32), none, none, 32, 8, 128, 16)
    cache = torch.zeros(4, 16, 8, 128, dtype=torch.bfloat16, device="cuda")
    out, lse = w.run(torch.zeros(0, 32, 128, dtype=torch.bfloat16, device="cuda"), (cache, cache), return_lse=True)
    assert out.shape == (0, 32, 128) and lse.shape == (0, 32)
    run_case(rng, [0, 0, 0], 32, 8, 128, 16)
    run_case(rng, [0, 0, 0], 32, 8, 128, 1)


def test_plan_makes_no_device_sync(rng):
    """plan() with a host page table: no synchronizing torch op (torch's sync debug mode raises on one); the
    compiled planner and the numpy one."""
    num_pages, indptr, indices, last = random_page_table(rng, [32768, 1, 300, 0, 7000], 16)
    torch.cuda.synchronize()
    for lib in (D.compiled_planner(), None):
        w = cute_attn.BatchDecodeWithPagedKVCacheWrapper()
        saved = list(D._PLANNER)
        D._PLANNER[:] = [lib]
        torch.cuda.set_sync_debug_mode("error")
        try:
            w.plan(indptr, indices, last, 32, 8, 128, 16)  # a fresh wrapper: no earlier copy to wait for
        finally:
            torch.cuda.set_sync_debug_mode(0)
            D._PLANNER[:] = saved


def test_sort_pages_kernel_matches_chunked_sort(rng):
    """The sort kernel (kernels/sort_pages.py) on random requests, empty, one-page, around its register block (16
    ids) and its network sizes, longer than one chunk (SORT_PAGES_CHUNK ids) and with repeated ids: each request's ids
    but its last ascending within each chunk, the last id last, nothing outside the requests written; in place too."""
    from bench.decode_sort_cost import chunked_sort
    from cute_attn.decode import sort_request_pages_
    from cute_attn.layouts.decode_work import SORT_PAGES_CHUNK as CHUNK

    # (the sorted part is pages - 1: networks of 16 .. 16384 keys, each first-phase variant of kernels/sort_pages.py)
    pages = [5, 0, 1, 2, 7000, 2049, 2050, 300, 0, 4097, 16, 17, 18, 33, 3, 65, 129, 200, 513, 1025,
             CHUNK, CHUNK + 1, CHUNK + 2, 2 * CHUNK + 700]
    indptr = np.concatenate([[0], np.cumsum(pages)])
    nnz = int(indptr[-1])
    ids = torch.randint(0, 5000, (nnz + 7,), generator=rng, dtype=torch.int32)
    out = torch.full((nnz + 7,), -1, dtype=torch.int32, device="cuda")
    sort_request_pages_(out, ids.cuda(), indptr)
    want = chunked_sort(ids, indptr)
    want[nnz:] = -1
    assert torch.equal(out.cpu(), want)
    inplace = ids.cuda()
    sort_request_pages_(inplace, inplace, indptr)
    assert torch.equal(inplace[:nnz].cpu(), want[:nnz])


@pytest.mark.parametrize("d,use_cuda_graph", [(64, False), (128, False), (256, False), (128, True)])
@pytest.mark.parametrize("page_size", [1, 16])
def test_runs_after_the_first_and_replans(rng, d, page_size, use_cuda_graph):
    """Every run of a plan gives the same bits (the runs after the first may start from first-tile page ids the
    first one cached: kernels/decode_sm90.py FIRST_IDS_HEAD_DIMS), and a new plan over other pages of the same shapes is
    answered from its own pages (plan() invalidates the cache), eager and in a replayed CUDA graph; split one-item,
    multi-item and mixed plans."""
    hq, hk = 32, 8
    for lens in ([700, 1, 3000, 0, 65] * 3, [12000], [1024] * 40):
        per = [(n + page_size - 1) // page_size for n in lens]
        num_pages = sum(per) + 5
        indptr = torch.tensor([0] + torch.tensor(per).cumsum(0).tolist(), dtype=torch.int32)
        last = torch.tensor([(n - 1) % page_size + 1 if n else 0 for n in lens], dtype=torch.int32)
        k = torch.randn(num_pages, page_size, hk, d, generator=rng).bfloat16()
        v = torch.randn(num_pages, page_size, hk, d, generator=rng).bfloat16()
        q = torch.randn(len(lens), hq, d, generator=rng).bfloat16()
        kc, vc, qc = k.cuda(), v.cuda(), q.cuda()
        w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(use_cuda_graph=use_cuda_graph)
        graph = None
        for _ in range(2):  # two plans over different page ids, the same shapes
            ids = torch.randperm(num_pages, generator=rng)[: sum(per)].to(torch.int32)
            w.plan(indptr, ids, last, hq, hk, d, page_size)
            if use_cuda_graph:
                if graph is None:
                    w.run(qc, (kc, vc))  # eager first: loads the kernel
                    graph, (g_out, g_lse) = capture(lambda: w.run(qc, (kc, vc), return_lse=True))
                    w.plan(indptr, ids, last, hq, hk, d, page_size)  # the replays start from a fresh plan
                outs = []
                for _ in range(3):
                    graph.replay()
                    outs.append((g_out.clone(), g_lse.clone()))
            else:
                outs = [w.run(qc, (kc, vc), return_lse=True) for _ in range(3)]
            torch.cuda.synchronize()
            for o, lse in outs[1:]:
                assert torch.equal(o, outs[0][0]) and torch.equal(lse, outs[0][1])
            check(*outs[0], *reference(q, k, v, indptr, ids, last, 1 / math.sqrt(d), "NHD"))


@pytest.mark.parametrize(
    "kv_lens,hq,hk,d,heads,per_cta",
    [
        ([600] * 64, 32, 8, 128, 4, 1),  # 64 x 4k's shape: 4 sequences per CTA -> one item of 4 kv heads
        ([300] * 128, 32, 8, 128, 8, 1),  # 128 x 1k's: 8 -> one item of 8
        ([500] * 32, 32, 8, 128, 2, 1),  # 2 -> one item of 2
        ([200] * 256, 32, 8, 128, 8, 2),  # 16 -> two items of 8
        ([700] * 64, 64, 8, 128, 4, 1),  # GQA 8: 32 query rows per item
        ([400] * 64, 8, 8, 128, 4, 1),  # MHA: 4 query rows per item
        ([400] * 64, 128, 8, 128, 4, 1),  # 16 query heads per kv head: 64 rows, the M tile's
        ([600] * 64, 32, 8, 64, 4, 1),  # hd64 (at its one-item stage count too, since session 25)
        ([300] * 128, 32, 8, 64, 8, 1),
        ([200] * 256, 16, 8, 64, 8, 2),  # hd64, GQA 2
    ],
)
@pytest.mark.parametrize("page_size,layout,dtype", [(16, "NHD", torch.bfloat16), (1, "NHD", torch.bfloat16),
                                                    (16, "HND", torch.float16), (1, "HND", torch.bfloat16)])
def test_items_of_several_kv_heads(rng, kv_lens, hq, hk, d, heads, per_cta, page_size, layout, dtype):
    """Plans whose CTAs would each run k > 1 whole sequences run items of H kv heads (layouts/decode_work.py
    ITEM_HEADS; the ``item_heads`` variant): against the reference, and against the plan of one kv head per item
    (MAX_ITEM_HEADS = 1) within rounding; three runs bit-identical (the first-tile page-id cache in the item's row
    mapping), then a replan of the same wrapper without items of several heads is answered from its own pages."""
    indptr, indices, last, k, v, q = paged_inputs(rng, kv_lens, hq, hk, d, page_size, layout, dtype)
    cache = (k.cuda(), v.cuda())
    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(kv_layout=layout)
    w.plan(indptr, indices, last, hq, hk, d, page_size, q_data_type=dtype)
    p = w._plan
    assert p.spec.item_heads == heads and p.spec.stages == D.DECODE_ONE_ITEM_STAGES.get(d, 0) and p.work.num_splits == 0
    assert p.grid * per_cta == p.work.items.shape[0] and int(p.work.items[0, Item.ROWS]) == heads * (hq // hk)
    first, ref = three_runs_checked(w, q, cache, k, v, indptr, indices, last, d, layout)
    saved = D.MAX_ITEM_HEADS
    D.MAX_ITEM_HEADS = 1
    try:
        w.plan(indptr, indices, last, hq, hk, d, page_size, q_data_type=dtype)
    finally:
        D.MAX_ITEM_HEADS = saved
    assert w._plan.spec.item_heads == 1 and w._plan.work.items.shape[0] == len(kv_lens) * hk
    o1, l1 = w.run(q.cuda(), cache, return_lse=True)
    check(o1, l1, *ref)
    torch.testing.assert_close(first[0].float(), o1.float(), atol=2e-3, rtol=2e-2)
