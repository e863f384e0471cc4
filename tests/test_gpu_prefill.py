"""GPU: prefill (single request and ragged batches) against the float64 reference.

The allowed error is a multiple of a same-dtype torch reference's own error (SDPA math in bf16/fp16)
plus a small absolute term. Outputs are NaN-poisoned (CUTE_ATTN_POISON=1)."""

import importlib
import math

import pytest
import torch

import cute_attn
from cute_attn import reference as R
from prefill_helpers import assert_close_to_reference, rand
from graph_helpers import capture

pytestmark = pytest.mark.gpu
HEAD_DIMS = [(64, 64), (128, 128), (256, 256), (192, 128)]


@pytest.fixture(autouse=True)
def poison(monkeypatch):
    monkeypatch.setenv("CUTE_ATTN_POISON", "1")


def same_dtype_ref(q, k, v, qo, kv, causal, scale):
    """Low-precision peer: each request through torch math in the input dtype (fp32 accumulate)."""
    outs = []
    for b in range(len(qo) - 1):
        qb, kb, vb = q[qo[b]:qo[b + 1]], k[kv[b]:kv[b + 1]], v[kv[b]:kv[b + 1]]
        o, _ = R.attention(qb, kb, vb, causal, scale, dtype=torch.float32)
        outs.append(o.to(q.dtype))
    return torch.cat(outs) if outs else q.new_zeros(0, q.shape[1], v.shape[2])


def check(out, lse, q, k, v, qo, kv, causal, scale):
    ref_o, ref_l = R.ragged_attention(q.cpu(), k.cpu(), v.cpu(), qo, kv, causal, scale)
    low = same_dtype_ref(q.cpu(), k.cpu(), v.cpu(), qo, kv, causal, scale)
    assert_close_to_reference(out, lse, ref_o, ref_l, low)


@pytest.mark.parametrize("hd,hdv", HEAD_DIMS)
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("seqlen", [1, 17, 113, 1023])
def test_single_request(rng, hd, hdv, causal, seqlen):
    q, k, v = rand(rng, seqlen, 4, hd), rand(rng, seqlen, 4, hd), rand(rng, seqlen, 4, hdv)
    out, lse = cute_attn.prefill(q, k, v, causal=causal, return_lse=True)
    assert out.shape == (seqlen, 4, hdv) and lse.shape == (seqlen, 4)
    check(out, lse, q, k, v, [0, seqlen], [0, seqlen], causal, 1 / math.sqrt(hd))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("group", [1, 4, 8])
@pytest.mark.parametrize("causal", [False, True])
def test_gqa_long(rng, dtype, group, causal):
    s, hk = 4097, 2
    q = rand(rng, s, hk * group, 128, dtype=dtype)
    k, v = rand(rng, s, hk, 128, dtype=dtype), rand(rng, s, hk, 128, dtype=dtype)
    out, lse = cute_attn.prefill(q, k, v, causal=causal, return_lse=True, sm_scale=0.07)
    check(out, lse, q, k, v, [0, s], [0, s], causal, 0.07)


@pytest.mark.parametrize("hd,hdv", HEAD_DIMS)
@pytest.mark.parametrize("causal", [False, True])
def test_q_shorter_than_kv(rng, hd, hdv, causal):
    """Append-like: causal is aligned bottom-right."""
    q, k, v = rand(rng, 113, 4, hd), rand(rng, 1023, 2, hd), rand(rng, 1023, 2, hdv)
    out, lse = cute_attn.prefill(q, k, v, causal=causal, return_lse=True)
    check(out, lse, q, k, v, [0, 113], [0, 1023], causal, 1 / math.sqrt(hd))


@pytest.mark.parametrize("hd,hdv", [(128, 128), (64, 64), (256, 256), (192, 128)])  # the last two: audit s5
@pytest.mark.parametrize("causal", [False, True])
def test_ragged_batch_with_empty_members(rng, hd, hdv, causal):
    q_lens = [17, 0, 300, 1, 1023, 5, 0]
    kv_lens = [17, 40, 300, 129, 1100, 0, 0]  # request 5 has queries but no key: output 0, LSE -inf
    qo = [0] + torch.tensor(q_lens).cumsum(0).tolist()
    kv = [0] + torch.tensor(kv_lens).cumsum(0).tolist()
    hq, hk = 8, 2
    q, k, v = rand(rng, qo[-1], hq, hd), rand(rng, kv[-1], hk, hd), rand(rng, kv[-1], hk, hdv)
    w = cute_attn.BatchPrefillWithRaggedKVCacheWrapper()
    w.plan(torch.tensor(qo, dtype=torch.int32), torch.tensor(kv, dtype=torch.int32), hq, hk, hd, hdv, causal=causal)
    out, lse = w.run(q, k, v, return_lse=True)
    check(out, lse, q, k, v, qo, kv, causal, 1 / math.sqrt(hd))


@pytest.mark.parametrize("tile_m", [0, 128])
@pytest.mark.parametrize("hd,causal", [(64, True), (128, True), (128, False)])
def test_both_tiles(rng, monkeypatch, tile_m, hd, causal):
    """hd64 causal and hd128 ship two tiles (192 rows for long requests, 128 for short ones; the plan picks one):
    each, forced, on odd lengths with GQA and empty members."""
    from cute_attn.kernels.common.config import PREFILL_SHORT_TILE

    assert PREFILL_SHORT_TILE[(hd, hd, causal)][0] == 128
    P = importlib.import_module("cute_attn.prefill")  # the package's ``prefill`` attribute is the function

    monkeypatch.setattr(P, "choose_tile_m", lambda *a: tile_m)
    q_lens, kv_lens = [1, 113, 0, 1023, 4097, 200], [1, 113, 5, 1500, 4097, 191]
    qo = [0] + torch.tensor(q_lens).cumsum(0).tolist()
    kv = [0] + torch.tensor(kv_lens).cumsum(0).tolist()
    hq, hk = 8, 2
    q, k, v = rand(rng, qo[-1], hq, hd), rand(rng, kv[-1], hk, hd), rand(rng, kv[-1], hk, hd)
    w = cute_attn.BatchPrefillWithRaggedKVCacheWrapper()
    w.plan(qo, kv, hq, hk, hd, causal=causal)
    assert w._plan.spec.tile_m == tile_m
    out, lse = w.run(q, k, v, return_lse=True)
    check(out, lse, q, k, v, qo, kv, causal, 1 / math.sqrt(hd))


def test_non_contiguous_inputs(rng):
    """q, k, v as slices of a fused QKV projection; out as a strided view."""
    s, hq, hk, d = 333, 8, 2, 128
    qkv = rand(rng, s, hq + 2 * hk, d)
    q, k, v = qkv[:, :hq], qkv[:, hq:hq + hk], qkv[:, hq + hk:]
    out_buf = torch.full((s, hq, 2 * d), float("nan"), dtype=torch.bfloat16, device="cuda")
    out = out_buf[:, :, d:]
    cute_attn.prefill(q, k, v, causal=True, out=out)
    assert torch.isnan(out_buf[:, :, :d]).all(), "wrote outside the out view"
    _, lse = cute_attn.prefill(q, k, v, causal=True, return_lse=True)
    check(out, lse, q, k, v, [0, s], [0, s], True, 1 / math.sqrt(d))


def test_graph_capture_replay_equals_eager(rng):
    qo, kv = [0, 100, 612], [0, 300, 812]
    q, k, v = rand(rng, 612, 8, 128), rand(rng, 812, 8, 128), rand(rng, 812, 8, 128)
    w = cute_attn.BatchPrefillWithRaggedKVCacheWrapper()
    w.plan(qo, kv, 8, 8, 128, causal=True)
    eager = w.run(q, k, v).clone()
    out = torch.empty_like(eager)
    g, _ = capture(lambda: w.run(q, k, v, out=out))
    g.replay()
    torch.cuda.synchronize()
    assert torch.equal(out, eager)
    q.copy_(rand(rng, 612, 8, 128))
    g.replay()
    torch.cuda.synchronize()
    assert torch.equal(out, w.run(q, k, v))


def test_prefill_validation_on_gpu(rng):
    q = rand(rng, 16, 4, 128)
    with pytest.raises(ValueError, match="multiple of num_kv_heads"):
        cute_attn.prefill(q, rand(rng, 16, 3, 128), rand(rng, 16, 3, 128))
    w = cute_attn.BatchPrefillWithRaggedKVCacheWrapper()
    w.plan([0, 16], [0, 16], 4, 4, 128)
    with pytest.raises(ValueError, match="q must have shape"):
        w.run(rand(rng, 15, 4, 128), rand(rng, 16, 4, 128), rand(rng, 16, 4, 128))


# ---------------------------------------------------------------------------------------------------------------
# Audit (session 5): cases issue 4 lists that the tests above did not cover. Written on a CPU box, not yet run on
# a GPU (bench/AUDIT-s5.md).


@pytest.mark.parametrize("hq,hk", [(8, 1), (6, 2), (20, 4)])  # MQA, groups of 3 and 5 (not powers of two)
@pytest.mark.parametrize("hd,hdv", [(64, 64), (128, 128)])
@pytest.mark.parametrize("causal", [False, True])
def test_mqa_and_odd_group_ratios(rng, hq, hk, hd, hdv, causal):
    """GQA/MQA for any ratio."""
    q, k, v = rand(rng, 517, hq, hd), rand(rng, 700, hk, hd), rand(rng, 700, hk, hdv)
    out, lse = cute_attn.prefill(q, k, v, causal=causal, return_lse=True)
    check(out, lse, q, k, v, [0, 517], [0, 700], causal, 1 / math.sqrt(hd))


@pytest.mark.parametrize("hd,hdv", [(64, 64), (256, 256), (192, 128)])
@pytest.mark.parametrize("causal", [False, True])
def test_long_other_head_dims(rng, hd, hdv, causal):
    """Length 4097 (several key and query tiles, a partial last tile) for the head dims test_gqa_long (hd128)
    does not run."""
    s = 4097
    q, k, v = rand(rng, s, 2, hd), rand(rng, s, 1, hd), rand(rng, s, 1, hdv)
    out, lse = cute_attn.prefill(q, k, v, causal=causal, return_lse=True)
    check(out, lse, q, k, v, [0, s], [0, s], causal, 1 / math.sqrt(hd))


@pytest.mark.parametrize("hd,hdv", HEAD_DIMS)
@pytest.mark.parametrize("causal", [False, True])
def test_fp16_head_dims(rng, hd, hdv, causal):
    """fp16 for every head dim (test_gqa_long runs fp16 at hd128 only)."""
    f16 = torch.float16
    q, k, v = rand(rng, 300, 4, hd, dtype=f16), rand(rng, 1023, 2, hd, dtype=f16), rand(rng, 1023, 2, hdv, dtype=f16)
    out, lse = cute_attn.prefill(q, k, v, causal=causal, return_lse=True)
    assert out.dtype == f16
    check(out, lse, q, k, v, [0, 300], [0, 1023], causal, 1 / math.sqrt(hd))


@pytest.mark.parametrize("hd,hdv", HEAD_DIMS)
def test_q_longer_than_kv_causal(rng, hd, hdv):
    """Causal aligned bottom-right with q_len > kv_len: the first q_len - kv_len queries see no key (output 0,
    LSE -inf), the rest a growing prefix."""
    q, k, v = rand(rng, 300, 4, hd), rand(rng, 113, 2, hd), rand(rng, 113, 2, hdv)
    out, lse = cute_attn.prefill(q, k, v, causal=True, return_lse=True)
    check(out, lse, q, k, v, [0, 300], [0, 113], True, 1 / math.sqrt(hd))
    assert torch.all(out[:187].cpu() == 0) and torch.all(torch.isneginf(lse[:187].cpu()))
    assert torch.all(torch.isfinite(lse[187:].cpu()))


@pytest.mark.parametrize("causal", [False, True])
def test_zero_length_requests(rng, causal):
    """Zero-length sequences give no output rows and no error: a request with no query, a request with no key
    (output 0, LSE -inf) where the whole K/V is empty, and ragged batches of such requests."""
    hd, h = 128, 4
    q, k, v = rand(rng, 0, h, hd), rand(rng, 17, h, hd), rand(rng, 17, h, hd)
    out, lse = cute_attn.prefill(q, k, v, causal=causal, return_lse=True)
    assert out.shape == (0, h, hd) and lse.shape == (0, h)
    q, k, v = rand(rng, 5, h, hd), rand(rng, 0, h, hd), rand(rng, 0, h, hd)
    out, lse = cute_attn.prefill(q, k, v, causal=causal, return_lse=True)
    torch.cuda.synchronize()
    assert torch.all(out.cpu() == 0) and torch.all(torch.isneginf(lse.cpu()))
    w = cute_attn.BatchPrefillWithRaggedKVCacheWrapper()
    w.plan([0, 0, 0], [0, 0, 9], h, h, hd, causal=causal)
    out, lse = w.run(rand(rng, 0, h, hd), rand(rng, 9, h, hd), rand(rng, 9, h, hd), return_lse=True)
    assert out.shape == (0, h, hd) and lse.shape == (0, h)
    w.plan([0, 3, 3, 7], [0, 0, 0, 0], h, h, hd, causal=causal)  # queries, and no key in the whole batch
    out, lse = w.run(rand(rng, 7, h, hd), rand(rng, 0, h, hd), rand(rng, 0, h, hd), return_lse=True)
    torch.cuda.synchronize()
    assert torch.all(out.cpu() == 0) and torch.all(torch.isneginf(lse.cpu()))


def test_plan_makes_no_device_sync():
    """plan() with host index tensors is host work plus non-blocking copies: no synchronizing torch op (checked
    by torch's sync debug mode, which raises on one)."""
    qo = torch.tensor([0, 100, 612], dtype=torch.int32)
    kv = torch.tensor([0, 300, 812], dtype=torch.int32)
    w = cute_attn.BatchPrefillWithRaggedKVCacheWrapper()
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for causal in (False, True):
            w.plan(qo, kv, 8, 2, 128, causal=causal)
    finally:
        torch.cuda.set_sync_debug_mode(0)


def test_one_token_with_odd_size_one_stride(rng):
    """A one-token q (and out) whose size-1 dim 0 has a stride that is not a multiple of 8 elements (torch leaves
    it free): run() hands the kernel a stride-0 view of it (as the paged and decode wrappers do)."""
    hq, hk, d = 4, 2, 128
    base = rand(rng, hq * d + 8, 1, 1).reshape(-1)
    q = base[8:].as_strided((1, hq, d), (3, d, 1))
    k, v = rand(rng, 77, hk, d), rand(rng, 77, hk, d)
    out = torch.full((hq * d + 8,), float("nan"), dtype=torch.bfloat16, device="cuda")[8:].as_strided((1, hq, d), (5, d, 1))
    _, lse = cute_attn.prefill(q, k, v, causal=True, out=out, return_lse=True)
    check(out, lse, q, k, v, [0, 1], [0, 77], True, 1 / math.sqrt(d))


@pytest.mark.parametrize("hd,hdv", [(128, 128), (192, 128)])
def test_lse_merges_split_keys_into_full_attention(rng, hd, hdv):
    """The LSE is what merge_state takes (natural log of the scaled scores, the transposed view as returned):
    attention over two halves of the keys, merged, equals attention over all of them (cascade use)."""
    q, k, v = rand(rng, 333, 8, hd), rand(rng, 1000, 2, hd), rand(rng, 1000, 2, hdv)
    full_o, full_l = cute_attn.prefill(q, k, v, return_lse=True)
    a_o, a_l = cute_attn.prefill(q, k[:371], v[:371], return_lse=True)
    b_o, b_l = cute_attn.prefill(q, k[371:], v[371:], return_lse=True)
    o, lse = cute_attn.merge_state(a_o, a_l, b_o, b_l)
    torch.testing.assert_close(lse, full_l, atol=2e-3, rtol=1e-3)
    torch.testing.assert_close(o.float(), full_o.float(), atol=2e-2, rtol=2e-2)


@pytest.mark.parametrize("tile_m", [0, 128])
@pytest.mark.parametrize("hd,hdv", HEAD_DIMS)
@pytest.mark.parametrize("causal", [False, True])
def test_rising_scores_move_the_kept_max(rng, monkeypatch, tile_m, hd, hdv, causal):
    """Keys whose norm grows along the sequence (x0.05 -> x12), so later key blocks raise rows' maxima by far more
    than the kept-max threshold (2^8 in log2 units) again and again: the paths that move the running max after the
    first block (the quad reduction behind ``vote_max``'s vote, the O rescale) run on most blocks, beside rows that
    keep it. Every tile the plan can pick (``tile_m`` 128: the short-request tile where one exists)."""
    from cute_attn.kernels.common.config import PREFILL_SHORT_TILE

    if tile_m and (hd, hdv, causal) not in PREFILL_SHORT_TILE:
        pytest.skip("one tile for this head dim")
    P = importlib.import_module("cute_attn.prefill")
    if tile_m:
        monkeypatch.setattr(P, "choose_tile_m", lambda *a: tile_m)
    q_lens, kv_lens = [700, 1, 333], [1500, 1100, 333]
    qo = [0] + torch.tensor(q_lens).cumsum(0).tolist()
    kv = [0] + torch.tensor(kv_lens).cumsum(0).tolist()
    hq, hk = 4, 2
    q, k, v = rand(rng, qo[-1], hq, hd), rand(rng, kv[-1], hk, hd), rand(rng, kv[-1], hk, hdv)
    grow = torch.cat([torch.linspace(0.05, 12.0, n) for n in kv_lens]).to(k.device)
    k = (k.float() * grow[:, None, None]).to(k.dtype)
    w = cute_attn.BatchPrefillWithRaggedKVCacheWrapper()
    w.plan(qo, kv, hq, hk, hd, hdv, causal=causal)
    if tile_m:
        assert w._plan.spec.tile_m == tile_m
    out, lse = w.run(q, k, v, return_lse=True)
    check(out, lse, q, k, v, qo, kv, causal, 1 / math.sqrt(hd))
