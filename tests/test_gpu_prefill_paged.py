"""GPU: prefill / append over a paged KV cache against the float64 paged reference, and against the dense
ragged kernel on the gathered K/V (gathered == dense, bitwise: the consumers are the same code).

Outputs are NaN-poisoned (CUTE_ATTN_POISON=1) and every cache slot that no request owns is NaN, so an
unwritten output or a read outside the page table fails."""

import math

import pytest
import torch

import importlib

import cute_attn
from cute_attn import reference as R
from cute_attn.kernels.common.config import prefill_config
from graph_helpers import capture

pytestmark = pytest.mark.gpu
P = importlib.import_module("cute_attn.prefill")  # (the package's ``prefill`` is the function)


@pytest.fixture(autouse=True)
def poison(monkeypatch):
    monkeypatch.setenv("CUTE_ATTN_POISON", "1")


def indptr_of(lens):
    return [0] + torch.tensor(lens, dtype=torch.long).cumsum(0).tolist()


def make_table(gen, kv_lens, page_size, spare=5, shared_prefix_pages=0):
    """A CSR page table over shuffled page ids, with spare pages no request owns. With
    ``shared_prefix_pages``, every request's first pages are the same physical pages (prefix sharing)."""
    pages_per = [(n + page_size - 1) // page_size for n in kv_lens]
    shared = shared_prefix_pages
    own = [p - shared for p in pages_per]
    num_pages = shared + sum(own) + spare
    perm = torch.randperm(num_pages, generator=gen).to(torch.int32)
    prefix, rest = perm[:shared], perm[shared:]
    chunks, off = [], 0
    for n in own:
        chunks += [prefix, rest[off:off + n]]
        off += n
    indices = torch.cat(chunks) if chunks else torch.zeros(0, dtype=torch.int32)
    indptr = torch.tensor(indptr_of(pages_per), dtype=torch.int32)
    last = torch.tensor([(n - 1) % page_size + 1 if n else 0 for n in kv_lens], dtype=torch.int32)
    return num_pages, indptr, indices, last


def make_cache(gen, num_pages, page_size, hk, d, dtype, indptr, indices, kv_lens):
    """NHD K/V caches: random rows where a request owns them, NaN elsewhere."""
    k = torch.full((num_pages * page_size, hk, d), float("nan"), dtype=dtype)
    v = torch.full_like(k, float("nan"))
    for b, n in enumerate(kv_lens):
        r = torch.arange(n)
        pages = indices[int(indptr[b]):int(indptr[b + 1])].long()
        slots = pages[r // page_size] * page_size + r % page_size
        k[slots] = torch.randn(n, hk, d, generator=gen).to(dtype)
        v[slots] = torch.randn(n, hk, d, generator=gen).to(dtype)
    shape = (num_pages, page_size, hk, d)
    return k.view(shape).cuda(), v.view(shape).cuda()


def check_reference(out, lse, q, k, v, qo, indptr, indices, last, causal, scale, layout):
    args = (q, k, v, qo, indptr, indices, last)
    ref_o, ref_l = R.paged_attention(*args, causal=causal, sm_scale=scale, kv_layout=layout)
    low, _ = R.paged_attention(*args, causal=causal, sm_scale=scale, kv_layout=layout, dtype=torch.float32)
    low = low.to(q.dtype).double()
    out, lse = out.double(), lse.double()
    assert not torch.isnan(out).any(), "unwritten (NaN) output elements"
    assert not torch.isnan(lse).any(), "unwritten (NaN) LSE elements"
    base_err = (low - ref_o).abs().max().item() if ref_o.numel() else 0.0
    err = (out - ref_o).abs().max().item() if ref_o.numel() else 0.0
    assert err <= 3 * base_err + 1e-3, f"max error {err:.3g} vs same-dtype reference {base_err:.3g}"
    assert torch.equal(torch.isneginf(lse), torch.isneginf(ref_l))
    fin = torch.isfinite(ref_l)
    torch.testing.assert_close(lse[fin], ref_l[fin], atol=2e-3, rtol=1e-3)


def check_dense(out, lse, q, k, v, qo, indptr, indices, last, causal, scale, layout, hq, hk, d):
    """The dense ragged kernel on the gathered K/V gives the same bits."""
    kg, vg, kv_ragged = R.gather_paged_kv(k, v, indptr, indices, last, layout)
    w = cute_attn.BatchPrefillWithRaggedKVCacheWrapper()
    w.plan(qo, kv_ragged.tolist(), hq, hk, d, causal=causal, sm_scale=scale, q_data_type=q.dtype)
    dense_o, dense_l = w.run(q, kg.contiguous(), vg.contiguous(), return_lse=True)
    diff = (dense_o.float() - out.float()).abs().max().item() if out.numel() else 0.0
    if prefill_config(d, d, causal) != prefill_config(d, d, causal, paged=True):
        # a dense-only tile (config._PREFILL_DENSE_MASK_TABLE): another key-block order, so not the same bits;
        # both kernels are checked against the reference, here they agree to bf16/fp16 rounding
        torch.testing.assert_close(dense_o, out, atol=1e-2, rtol=1.6e-2)
        torch.testing.assert_close(dense_l, lse, atol=1e-3, rtol=1e-4)
        return
    assert torch.equal(dense_o, out), f"paged != dense on the gathered K/V (max diff {diff:.3g})"
    assert torch.equal(dense_l, lse), "paged LSE != dense LSE"


def run_case(gen, q_lens, kv_lens, page_size, *, hq=8, hk=2, d=128, causal=True, layout="NHD",
             dtype=torch.bfloat16, sm_scale=None, shared_prefix_pages=0, dense=True, stacked=False,
             indices_on_gpu=False, expect_tile_m=None):
    num_pages, indptr, indices, last = make_table(gen, kv_lens, page_size, shared_prefix_pages=shared_prefix_pages)
    k, v = make_cache(gen, num_pages, page_size, hk, d, dtype, indptr, indices, kv_lens)
    if layout == "HND":
        k, v = k.transpose(1, 2).contiguous(), v.transpose(1, 2).contiguous()
    qo = indptr_of(q_lens)
    q = torch.randn(qo[-1], hq, d, generator=gen).to(dtype).cuda()
    scale = 1 / math.sqrt(d) if sm_scale is None else sm_scale
    w = cute_attn.BatchPrefillWithPagedKVCacheWrapper(kv_layout=layout)
    w.plan(torch.tensor(qo, dtype=torch.int32), indptr, indices.cuda() if indices_on_gpu else indices, last,
           hq, hk, d, page_size, causal=causal, sm_scale=sm_scale, q_data_type=dtype)
    if expect_tile_m is not None:
        assert w._plan.spec.tile_m == expect_tile_m
    cache = torch.stack([k, v], dim=1) if stacked else (k, v)
    out, lse = w.run(q, cache, return_lse=True)
    assert out.shape == (qo[-1], hq, d) and lse.shape == (qo[-1], hq) and out.dtype == dtype
    check_reference(out, lse, q, k, v, qo, indptr, indices, last, causal, scale, layout)
    if dense:
        check_dense(out, lse, q, k, v, qo, indptr, indices, last, causal, scale, layout, hq, hk, d)


ODD = [1, 17, 113, 0, 1023, 203]


@pytest.mark.parametrize("page_size", [1, 2, 3, 16, 32, 48, 64, 128, 256])
@pytest.mark.parametrize("causal", [False, True])
def test_prefill_page_sizes(rng, page_size, causal):
    """Every load path: TMA boxes of 16 rows (16, 32, 48: blocks straddle pages) and of 64 rows (64, 128, 256:
    pages span blocks), cp.async gathers (1, 2, 3); the odd lengths end inside a box (the gathered V tail)."""
    run_case(rng, ODD, ODD, page_size, causal=causal)


@pytest.mark.parametrize("page_size", [1, 16, 64])
@pytest.mark.parametrize("new", [1, 3, 64, 129, 512])
def test_append_on_long_caches(rng, page_size, new):
    """q_len < kv_len: the new tokens are the last positions; causal aligned bottom-right."""
    q_lens = [new, max(1, new // 2), new]
    kv_lens = [4000 + new, 3001, 2500 + new]
    run_case(rng, q_lens, kv_lens, page_size, causal=True)


def test_append_not_causal_and_empty_members(rng):
    q_lens = [5, 0, 77, 3, 1]
    kv_lens = [300, 40, 1500, 0, 129]  # request 3 has queries but no key: output 0, LSE -inf
    run_case(rng, q_lens, kv_lens, 16, causal=False)
    run_case(rng, q_lens, kv_lens, 1, causal=True)


@pytest.mark.parametrize("group", [1, 4, 8])
@pytest.mark.parametrize("page_size", [1, 16])
def test_gqa(rng, group, page_size):
    run_case(rng, [300, 1000], [700, 1000], page_size, hq=2 * group, hk=2, sm_scale=0.07)


@pytest.mark.parametrize("d", [64, 256])
@pytest.mark.parametrize("page_size", [1, 16, 64])
@pytest.mark.parametrize("causal", [False, True])
def test_head_dims(rng, d, page_size, causal):
    run_case(rng, [113, 1, 517], [113, 300, 1200], page_size, hq=4, hk=4, d=d, causal=causal)


@pytest.mark.parametrize("tile_m", [0, 128])
@pytest.mark.parametrize("page_size", [1, 16, 64, 128])
@pytest.mark.parametrize("d, causal, dtype, layout", [
    (64, True, torch.bfloat16, "NHD"), (64, True, torch.float16, "NHD"), (128, True, torch.bfloat16, "NHD"),
    (128, False, torch.bfloat16, "NHD"), (128, True, torch.float16, "NHD"), (128, True, torch.bfloat16, "HND")])
def test_both_tiles(rng, monkeypatch, tile_m, page_size, d, causal, dtype, layout):
    """The two paged variants of hd64 causal (192 x 112, 128 x 128) and hd128 (192 x 80, 128 x 128; the 128-row key
    tile has box 64 too), forced on odd lengths, appends, an empty request and GQA, against the reference (and the
    dense kernel forced alike); NHD and HND caches."""
    monkeypatch.setattr(P, "choose_tile_m", lambda *a: tile_m)
    q_lens, kv_lens = [1, 113, 1023, 0, 129, 64, 700], [1, 700, 1023, 50, 4000, 64, 3001]
    run_case(rng, q_lens, kv_lens, page_size, hq=8, hk=2, d=d, causal=causal, dtype=dtype, layout=layout)


@pytest.mark.parametrize("page_size", [1, 16, 64])
def test_hd64_causal_short_requests_take_the_short_tile(rng, page_size):
    """The plan's own choice (no forcing) on a batch of short requests and appends: the 128-row variant."""
    q_lens, kv_lens = [1024] * 3 + [200, 512], [1024] * 3 + [200, 5000]
    assert P.choose_tile_m(q_lens, 64, 64, True) == 128
    run_case(rng, q_lens, kv_lens, page_size, hq=4, hk=4, d=64, causal=True, expect_tile_m=128)


@pytest.mark.parametrize("page_size", [1, 16, 64])
def test_fp16(rng, page_size):
    run_case(rng, ODD, ODD, page_size, dtype=torch.float16)


@pytest.mark.parametrize("page_size", [1, 16, 64])
@pytest.mark.parametrize("causal", [False, True])
def test_hnd_layout(rng, page_size, causal):
    run_case(rng, [17, 200, 1023], [300, 200, 1500], page_size, layout="HND", causal=causal)


@pytest.mark.parametrize("page_size", [1, 16])
def test_shared_prefix_pages(rng, page_size):
    """Every request's first pages are the same physical pages (prefix sharing)."""
    shared = 256 // page_size
    run_case(rng, [50, 300, 7], [600, 1000, 256 + 40], page_size, shared_prefix_pages=shared)


@pytest.mark.parametrize("page_size", [1, 64])
def test_many_tiles_per_cta(rng, page_size):
    """Several work tiles per persistent CTA (the producer must walk the consumers' schedule)."""
    run_case(rng, [2048, 1500, 2048, 700], [2048, 3000, 2048, 700], page_size, hq=16, hk=4)


def test_stacked_cache_and_gpu_page_ids(rng):
    run_case(rng, [100, 33], [1000, 777], 16, stacked=True, indices_on_gpu=True)


def test_graph_capture_replay_equals_eager(rng):
    kv_lens, q_lens, ps, hq, hk, d = [900, 300], [128, 300], 16, 8, 2, 128
    num_pages, indptr, indices, last = make_table(rng, kv_lens, ps)
    k, v = make_cache(rng, num_pages, ps, hk, d, torch.bfloat16, indptr, indices, kv_lens)
    qo = indptr_of(q_lens)
    q = torch.randn(qo[-1], hq, d, generator=rng).bfloat16().cuda()
    w = cute_attn.BatchPrefillWithPagedKVCacheWrapper()
    w.plan(qo, indptr, indices, last, hq, hk, d, ps, causal=True)
    eager = w.run(q, (k, v)).clone()
    out = torch.empty_like(eager)
    g, _ = capture(lambda: w.run(q, (k, v), out=out))
    g.replay()
    torch.cuda.synchronize()
    assert torch.equal(out, eager)


# ---------------------------------------------------------------------------------------------------------------
# Audit (session 5): cases issue 5 lists that the tests above did not cover. Written on a CPU box, not yet run on
# a GPU (bench/AUDIT-s5.md).


@pytest.mark.parametrize("page_size", [1, 16, 64])
def test_strided_q_out_and_padded_cache(rng, page_size):
    """Strides taken from the tensors: q a slice of a fused QKV projection, out a strided view, and K/V caches
    that are views of wider buffers (each row padded with NaN past head_dim, so a read past it fails)."""
    q_lens, kv_lens, hq, hk, d = [100, 33, 0, 7], [700, 33, 5, 300], 8, 2, 128
    num_pages, indptr, indices, last = make_table(rng, kv_lens, page_size)
    k, v = make_cache(rng, num_pages, page_size, hk, d, torch.bfloat16, indptr, indices, kv_lens)
    kbuf = torch.full((num_pages, page_size, hk, d + 64), float("nan"), dtype=torch.bfloat16, device="cuda")
    vbuf = torch.full_like(kbuf, float("nan"))
    kbuf[..., :d], vbuf[..., :d] = k, v
    kp, vp = kbuf[..., :d], vbuf[..., :d]
    qo = indptr_of(q_lens)
    qkv = torch.randn(qo[-1], hq + 2 * hk, d, generator=rng).bfloat16().cuda()
    q = qkv[:, :hq]
    out_buf = torch.full((qo[-1], hq, 2 * d), float("nan"), dtype=torch.bfloat16, device="cuda")
    out = out_buf[:, :, d:]
    w = cute_attn.BatchPrefillWithPagedKVCacheWrapper()
    w.plan(qo, indptr, indices, last, hq, hk, d, page_size, causal=True)
    _, lse = w.run(q, (kp, vp), out=out, return_lse=True)
    assert torch.isnan(out_buf[:, :, :d]).all(), "wrote outside the out view"
    check_reference(out, lse, q, k, v, qo, indptr, indices, last, True, 1 / math.sqrt(d), "NHD")


def test_replan_one_wrapper_and_graph_replay_with_new_inputs(rng):
    """One wrapper planned twice (another batch, another page size's variant), and a captured run replayed
    after new q values: each equals the reference."""
    hq, hk, d = 8, 2, 128
    w = cute_attn.BatchPrefillWithPagedKVCacheWrapper()
    for q_lens, kv_lens, ps in (([50, 7], [900, 7], 16), ([3, 200, 1], [64, 1000, 2], 1)):
        num_pages, indptr, indices, last = make_table(rng, kv_lens, ps)
        k, v = make_cache(rng, num_pages, ps, hk, d, torch.bfloat16, indptr, indices, kv_lens)
        qo = indptr_of(q_lens)
        q = torch.randn(qo[-1], hq, d, generator=rng).bfloat16().cuda()
        w.plan(qo, indptr, indices, last, hq, hk, d, ps, causal=True)
        out, lse = w.run(q, (k, v), return_lse=True)
        check_reference(out, lse, q, k, v, qo, indptr, indices, last, True, 1 / math.sqrt(d), "NHD")
    out = torch.empty_like(out)
    g, _ = capture(lambda: w.run(q, (k, v), out=out))
    q.copy_(torch.randn(qo[-1], hq, d, generator=rng).bfloat16())
    g.replay()
    torch.cuda.synchronize()
    assert torch.equal(out, w.run(q, (k, v)))


def test_plan_makes_no_device_sync(rng):
    """plan() with a host page table: no synchronizing torch op (torch's sync debug mode raises on one)."""
    num_pages, indptr, indices, last = make_table(rng, [900, 300], 16)
    w = cute_attn.BatchPrefillWithPagedKVCacheWrapper()
    qo = torch.tensor([0, 128, 428], dtype=torch.int32)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        w.plan(qo, indptr, indices, last, 8, 2, 128, 16, causal=True)
    finally:
        torch.cuda.set_sync_debug_mode(0)
