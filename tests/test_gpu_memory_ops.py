"""GPU: append_paged_kv_cache and merge_state(s) against the references (needs a Hopper GPU and built
artifacts). Outputs are NaN-poisoned (CUTE_ATTN_POISON=1) so an unwritten element fails."""

import pytest
import torch

import cute_attn
from cute_attn import reference as R
from pages import random_page_table
from graph_helpers import capture

pytestmark = pytest.mark.gpu
DTYPES = [torch.bfloat16, torch.float16]


@pytest.fixture(autouse=True)
def poison(monkeypatch):
    monkeypatch.setenv("CUTE_ATTN_POISON", "1")


def bits(t):
    return t.view(torch.int16)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("page_size", [1, 16, 64])
@pytest.mark.parametrize("layout", ["NHD", "HND"])
@pytest.mark.parametrize("hk,d", [(8, 128), (1, 64), (3, 256)])
def test_append_paged_kv_cache(rng, dtype, page_size, layout, hk, d):
    old = [0, 113, 7, 1023, 5]
    new = [1, 17, 0, 113, 64]
    final = [a + b for a, b in zip(old, new)]
    num_pages, indptr, indices, last = random_page_table(rng, final, page_size)
    shape = (num_pages, page_size, hk, d) if layout == "NHD" else (num_pages, hk, page_size, d)
    # poison the cache: slots the append must not touch stay NaN, bit for bit
    k_cache = torch.full(shape, float("nan"), dtype=dtype)
    v_cache = torch.full(shape, float("nan"), dtype=dtype)
    append_indptr = torch.tensor([0] + torch.tensor(new).cumsum(0).tolist(), dtype=torch.int32)
    nnz = int(append_indptr[-1])
    k_new = torch.randn(nnz, hk, d, generator=rng).to(dtype)
    v_new = torch.randn(nnz, hk, d, generator=rng).to(dtype)
    bi, pos = cute_attn.get_batch_indices_positions(append_indptr, torch.tensor(final, dtype=torch.int32), nnz)
    k_ref, v_ref = k_cache.clone(), v_cache.clone()
    R.append_paged_kv_cache(k_new, v_new, bi, pos, k_ref, v_ref, indices, indptr, kv_layout=layout)

    dev = "cuda"
    kc, vc = k_cache.to(dev), v_cache.to(dev)
    bi_d, pos_d = cute_attn.get_batch_indices_positions(append_indptr.to(dev), torch.tensor(final, dtype=torch.int32, device=dev), nnz)
    assert torch.equal(bi_d.cpu(), bi) and torch.equal(pos_d.cpu(), pos)
    cute_attn.append_paged_kv_cache(k_new.to(dev), v_new.to(dev), bi_d, pos_d, (kc, vc), indices.to(dev),
                                    indptr.to(dev), last.to(dev), kv_layout=layout)
    torch.cuda.synchronize()
    assert torch.equal(bits(kc.cpu()), bits(k_ref))
    assert torch.equal(bits(vc.cpu()), bits(v_ref))


def test_append_strided_inputs_and_stacked_cache(rng):
    """Non-contiguous new rows (a slice of a fused QKV projection) and a (pages, 2, ...) cache."""
    hk, d, page_size = 4, 128, 16
    final = [40, 3]
    num_pages, indptr, indices, last = random_page_table(rng, final, page_size)
    qkv = torch.randn(43, 3 * hk, d, generator=rng).bfloat16().cuda()
    k_new, v_new = qkv[:, hk:2 * hk], qkv[:, 2 * hk:]
    cache = torch.zeros(num_pages, 2, page_size, hk, d, dtype=torch.bfloat16, device="cuda")
    bi = torch.tensor([0] * 40 + [1] * 3, dtype=torch.int32)
    pos = torch.tensor(list(range(40)) + [0, 1, 2], dtype=torch.int32)
    ref = cache.cpu().clone()
    R.append_paged_kv_cache(k_new.cpu(), v_new.cpu(), bi, pos, ref[:, 0], ref[:, 1], indices, indptr)
    cute_attn.append_paged_kv_cache(k_new, v_new, bi.cuda(), pos.cuda(), cache, indices.cuda(), indptr.cuda(), last.cuda())
    assert torch.equal(bits(cache.cpu()), bits(ref))


def test_append_graph_capture_and_side_stream(rng):
    hk, d, page_size = 2, 64, 16
    final = [30, 50]
    num_pages, indptr, indices, last = random_page_table(rng, final, page_size)
    dev = "cuda"
    kc = torch.zeros(num_pages, page_size, hk, d, dtype=torch.bfloat16, device=dev)
    vc = torch.zeros_like(kc)
    bi = torch.tensor([0] * 30 + [1] * 50, dtype=torch.int32, device=dev)
    pos = torch.tensor(list(range(30)) + list(range(50)), dtype=torch.int32, device=dev)
    k_new = torch.randn(80, hk, d, generator=rng).bfloat16().to(dev)
    v_new = torch.randn(80, hk, d, generator=rng).bfloat16().to(dev)
    args = (bi, pos, (kc, vc), indices.to(dev), indptr.to(dev), last.to(dev))
    cute_attn.append_paged_kv_cache(k_new, v_new, *args)  # eager first: loads the kernel
    graph, _ = capture(lambda: cute_attn.append_paged_kv_cache(k_new, v_new, *args))
    for _ in range(2):  # new values in the captured input buffers, replayed
        k_new.copy_(torch.randn(80, hk, d, generator=rng).bfloat16())
        v_new.copy_(torch.randn(80, hk, d, generator=rng).bfloat16())
        graph.replay()
        torch.cuda.synchronize()
        kr, vr = torch.zeros(kc.shape, dtype=kc.dtype), torch.zeros(vc.shape, dtype=vc.dtype)
        R.append_paged_kv_cache(k_new.cpu(), v_new.cpu(), bi.cpu(), pos.cpu(), kr, vr, indices, indptr)
        assert torch.equal(bits(kc.cpu()), bits(kr)) and torch.equal(bits(vc.cpu()), bits(vr))
    # side stream, eager: the kernel must run on the current stream, ordered after the producer of k_new
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        k2 = torch.randn(80, hk, d, device=dev).bfloat16()
        cute_attn.append_paged_kv_cache(k2, k2, *args)
    side.synchronize()
    kr = torch.zeros(kc.shape, dtype=kc.dtype)
    R.append_paged_kv_cache(k2.cpu(), k2.cpu(), bi.cpu(), pos.cpu(), kr, kr.clone(), indices, indptr)
    assert torch.equal(bits(kc.cpu()), bits(kr))


def assert_state_close(out, lse, ref_out, ref_lse, dtype):
    assert not torch.isnan(out).any() and not torch.isnan(lse).any()
    assert torch.equal(torch.isneginf(lse.cpu()), torch.isneginf(ref_lse))
    fin = torch.isfinite(ref_lse)
    torch.testing.assert_close(lse.cpu()[fin].double(), ref_lse[fin], atol=1e-5, rtol=1e-5)
    tol = 1e-2 if dtype == torch.bfloat16 else 2e-3
    torch.testing.assert_close(out.cpu().double(), ref_out, atol=tol, rtol=tol)


def random_states(gen, n, k, h, d, dtype):
    v = torch.randn(n, k, h, d, generator=gen).to(dtype)
    s = torch.randn(n, k, h, generator=gen) * 4
    s[torch.rand(n, k, h, generator=gen) < 0.2] = float("-inf")  # empty parts
    s[0] = float("-inf")  # a row where every part is empty
    return v, s


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,h,d", [(1, 1, 64), (113, 8, 128), (1023, 3, 256), (17, 32, 64)])
def test_merge_state(rng, dtype, n, h, d):
    v, s = random_states(rng, n, 2, h, d, dtype)
    ref_out, ref_lse = R.merge_state(v[:, 0], s[:, 0], v[:, 1], s[:, 1])
    out, lse = cute_attn.merge_state(v[:, 0].cuda(), s[:, 0].cuda(), v[:, 1].cuda(), s[:, 1].cuda())
    assert out.shape == (n, h, d) and lse.shape == (n, h) and out.dtype == dtype
    assert_state_close(out, lse, ref_out, ref_lse, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,k,h,d", [(1, 1, 1, 64), (113, 5, 8, 128), (1023, 2, 4, 256), (7, 16, 32, 128)])
def test_merge_states(rng, dtype, n, k, h, d):
    v, s = random_states(rng, n, k, h, d, dtype)
    ref_out, ref_lse = R.merge_states(v, s)
    out, lse = cute_attn.merge_states(v.cuda(), s.cuda())
    assert_state_close(out, lse, ref_out, ref_lse, dtype)


def test_merge_strided_inputs(rng):
    """Values as a strided view (one slot of a larger workspace), LSE as a non-contiguous view."""
    n, k, h, d = 64, 3, 4, 128
    work = torch.randn(n, k + 1, h, d, generator=rng).bfloat16().cuda()
    lse_work = (torch.randn(n, h, k + 1, generator=rng) * 3).cuda()
    v, s = work[:, 1:], lse_work[:, :, 1:].transpose(1, 2)
    ref_out, ref_lse = R.merge_states(v.cpu(), s.cpu())
    out, lse = cute_attn.merge_states(v, s)
    assert_state_close(out, lse, ref_out, ref_lse, torch.bfloat16)
    a_out, a_lse = cute_attn.merge_state(v[:, 0], s[:, 0], v[:, 1], s[:, 1])
    r_out, r_lse = R.merge_state(v[:, 0].cpu(), s[:, 0].cpu(), v[:, 1].cpu(), s[:, 1].cpu())
    assert_state_close(a_out, a_lse, r_out, r_lse, torch.bfloat16)


def test_merge_matches_attention_over_split_keys(rng):
    """Two halves of the keys, merged, equal attention over all keys (fp32 reference pieces)."""
    q = torch.randn(33, 4, 64, generator=rng)
    k = torch.randn(100, 4, 64, generator=rng)
    v = torch.randn(100, 4, 64, generator=rng)
    full_o, full_s = R.attention(q, k, v)
    a_o, a_s = R.attention(q, k[:37], v[:37])
    b_o, b_s = R.attention(q, k[37:], v[37:])
    out, lse = cute_attn.merge_state(a_o.bfloat16().cuda(), a_s.float().cuda(), b_o.bfloat16().cuda(), b_s.float().cuda())
    torch.testing.assert_close(lse.cpu().double(), full_s, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out.cpu().double(), full_o, atol=2e-2, rtol=2e-2)


def test_merge_graph_capture(rng):
    v, s = random_states(rng, 50, 4, 8, 128, torch.bfloat16)
    v, s = v.cuda(), s.cuda()
    cute_attn.merge_states(v, s)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out, lse = cute_attn.merge_states(v, s)
    v2, s2 = random_states(rng, 50, 4, 8, 128, torch.bfloat16)
    v.copy_(v2)
    s.copy_(s2)
    graph.replay()
    torch.cuda.synchronize()
    ref_out, ref_lse = R.merge_states(v2, s2)
    assert_state_close(out, lse, ref_out, ref_lse, torch.bfloat16)
