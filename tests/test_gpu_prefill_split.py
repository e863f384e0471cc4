"""GPU: split-KV of the last round of the dense prefill schedule (hd128 non-causal, 192 x 80 tile): plans forced to
split on small problems by a CTA cap (``CUTE_ATTN_PREFILL_CTAS``), against a float64 reference (the allowed error a
multiple of a same-dtype reference's own), the same plan run again (counters reset: bit-for-bit), split against
unsplit (``CUTE_ATTN_PREFILL_SPLIT=0``: tiles that were not split bit-for-bit, split ones within rounding) and a
CUDA-graph replay. Outputs are NaN-poisoned (CUTE_ATTN_POISON=1) and so is the plan's ``part`` scratch (the kernel
must read only rows its pieces wrote)."""

import importlib
import math

import pytest
import torch

import cute_attn
from cute_attn import reference as R
from prefill_helpers import assert_close_to_reference, indptr, rand
from graph_helpers import capture

pytestmark = pytest.mark.gpu
P = importlib.import_module("cute_attn.prefill")  # the package's ``prefill`` attribute is the function
TILE_M = 192


@pytest.fixture(autouse=True)
def env(monkeypatch):
    monkeypatch.setenv("CUTE_ATTN_POISON", "1")
    monkeypatch.delenv(P.SPLIT_ENV, raising=False)
    monkeypatch.delenv("CUTE_ATTN_PREFILL_CTAS", raising=False)


def reference(q, k, v, qo, kv, scale, dtype):
    """Non-causal attention of each request on the GPU in ``dtype`` (rows in chunks): O (total_q, hq, dv), LSE
    (total_q, hq)."""
    out = torch.zeros(q.shape[0], q.shape[1], v.shape[2], dtype=dtype, device=q.device)
    lse = torch.full((q.shape[0], q.shape[1]), float("-inf"), dtype=dtype, device=q.device)
    for b in range(len(qo) - 1):
        for r0 in range(qo[b], qo[b + 1], 1024):
            r1 = min(r0 + 1024, qo[b + 1])
            out[r0:r1], lse[r0:r1] = R.attention(q[r0:r1], k[kv[b]:kv[b + 1]], v[kv[b]:kv[b + 1]], False, scale,
                                                 dtype=dtype)
    return out, lse


def check(out, lse, q, k, v, qo, kv, scale):
    ref_o, ref_l = reference(q, k, v, qo, kv, scale, torch.float64)
    low = reference(q, k, v, qo, kv, scale, torch.float32)[0].to(q.dtype)
    assert_close_to_reference(out, lse, ref_o, ref_l, low)


def sms() -> int:
    return torch.cuda.get_device_properties(0).multi_processor_count


def ctas_for(rows: int, mode: str) -> int:
    """A CTA cap that makes ``rows`` equal tiles split: ``"few"``: the largest (few groups of many pieces),
    ``"many"``: the one with the most groups (at least 2 pieces each)."""
    best = None
    for c in range(2, min(sms(), rows - 1) + 1):
        t = rows % c
        if t and c // t >= 2:
            key = c if mode == "few" else (t, c)
            if best is None or key > best[0]:
                best = (key, c)
    assert best is not None, rows
    return best[1]


def split_wrapper(monkeypatch, q_lens, kv_lens, hq, hk, dtype, mode="few"):
    """A wrapper planned with the 192-row tile and a CTA cap that splits (``mode``: :func:`ctas_for`; None: no cap),
    its ``part`` NaN-poisoned."""
    monkeypatch.setattr(P, "choose_tile_m", lambda *a: 0)  # the table's 192-row tile whatever the lengths
    rows = hq * sum(-(-n // TILE_M) for n in q_lens)
    if mode is not None:
        monkeypatch.setenv("CUTE_ATTN_PREFILL_CTAS", str(ctas_for(rows, mode)))
    w = cute_attn.BatchPrefillWithRaggedKVCacheWrapper()
    w.plan(indptr(q_lens), indptr(kv_lens), hq, hk, 128, causal=False, q_data_type=dtype)
    plan = w._plan
    assert P.tile_m_for(128, 128, False, plan.spec.tile_m) == TILE_M
    assert plan.split is not None, f"no split: {rows} rows on {plan.num_ctas} CTAs"
    groups, pieces = plan.split
    assert plan.part.shape == (groups * pieces * TILE_M, 129) and plan.count.shape == (groups * 4,)
    plan.part.fill_(float("nan"))
    return w


def inputs(gen, q_lens, kv_lens, hq, hk, dtype):
    qn, kn = sum(q_lens), sum(kv_lens)
    return rand(gen, qn, hq, 128, dtype=dtype), rand(gen, kn, hk, 128, dtype=dtype), rand(gen, kn, hk, 128, dtype=dtype)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("q_len", [1000, 4097])
@pytest.mark.parametrize("group", [1, 4])
@pytest.mark.parametrize("mode", ["few", "many"])
def test_split_matches_reference(rng, monkeypatch, dtype, q_len, group, mode):
    hk = 2
    hq = hk * group
    w = split_wrapper(monkeypatch, [q_len], [q_len], hq, hk, dtype, mode)
    q, k, v = inputs(rng, [q_len], [q_len], hq, hk, dtype)
    out, lse = w.run(q, k, v, return_lse=True)
    check(out, lse, q, k, v, [0, q_len], [0, q_len], 1 / math.sqrt(128))
    torch.cuda.synchronize()
    assert not w._plan.count.any(), "split counters not reset"


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("hq,hk", [(16, 16), (16, 4)])
def test_split_16k_on_all_sms(rng, monkeypatch, dtype, hq, hk):
    """1 x 16k, 16 heads, no cap: the plan picks the 192-row tile and, on 132 SMs, splits the last round's 56 tiles
    in 2 (elsewhere a cap that splits); the prefill() function (its own cached plan) gives the same output."""
    n = 16384
    w = cute_attn.BatchPrefillWithRaggedKVCacheWrapper()
    w.plan([0, n], [0, n], hq, hk, 128, causal=False, q_data_type=dtype)
    assert P.tile_m_for(128, 128, False, w._plan.spec.tile_m) == TILE_M
    if sms() == 132:
        assert w._plan.split == (56, 2)
    else:
        w = split_wrapper(monkeypatch, [n], [n], hq, hk, dtype, "few")
    w._plan.part.fill_(float("nan"))
    q, k, v = inputs(rng, [n], [n], hq, hk, dtype)
    out, lse = w.run(q, k, v, return_lse=True)
    check(out, lse, q, k, v, [0, n], [0, n], 1 / math.sqrt(128))
    if sms() == 132:
        o2, l2 = cute_attn.prefill(q, k, v, return_lse=True)
        assert torch.equal(o2, out) and torch.equal(l2, lse)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_split_q_shorter_than_kv_gqa(rng, monkeypatch, dtype):
    q_lens, kv_lens, hq, hk = [3000], [7777], 8, 2
    w = split_wrapper(monkeypatch, q_lens, kv_lens, hq, hk, dtype, "many")
    q, k, v = inputs(rng, q_lens, kv_lens, hq, hk, dtype)
    out, lse = w.run(q, k, v, return_lse=True)
    check(out, lse, q, k, v, indptr(q_lens), indptr(kv_lens), 1 / math.sqrt(128))


@pytest.mark.parametrize("mode", ["few", "many"])
def test_split_ragged_uniform_batch(rng, monkeypatch, mode):
    """Requests of different query lengths and one kv length (every tile costs the same): split; the partial last
    tiles of each request included."""
    q_lens, kv_lens, hq, hk = [1000, 3000, 17, 0, 2048], [4000] * 5, 4, 4
    w = split_wrapper(monkeypatch, q_lens, kv_lens, hq, hk, torch.bfloat16, mode)
    q, k, v = inputs(rng, q_lens, kv_lens, hq, hk, torch.bfloat16)
    out, lse = w.run(q, k, v, return_lse=True)
    check(out, lse, q, k, v, indptr(q_lens), indptr(kv_lens), 1 / math.sqrt(128))


def _split_mask(plan, qo, total_q, hq):
    """(total_q, hq) bool: the elements of the tiles that the plan split."""
    mask = torch.zeros(total_q, hq, dtype=torch.bool)
    _, rows = P.split_work(plan.work.cpu(), plan.num_ctas)
    for b, m, h, word in rows.tolist():
        if word:
            mask[qo[b] + m * TILE_M:min(qo[b] + (m + 1) * TILE_M, qo[b + 1]), h] = True
    return mask


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("mode", ["few", "many"])
def test_repeated_runs_and_split_against_unsplit(rng, monkeypatch, dtype, mode):
    """Three runs of one split plan are bit-for-bit equal (the kernel resets its counters), and so are the tiles that
    the plan did not split against the same problem planned with CUTE_ATTN_PREFILL_SPLIT=0; the split tiles agree
    within rounding (each piece's softmax takes its own running max)."""
    q_lens, kv_lens, hq, hk = [3000], [7777], 8, 2
    w = split_wrapper(monkeypatch, q_lens, kv_lens, hq, hk, dtype, mode)
    q, k, v = inputs(rng, q_lens, kv_lens, hq, hk, dtype)
    runs = [tuple(t.clone() for t in w.run(q, k, v, return_lse=True)) for _ in range(3)]
    for o, lse in runs[1:]:
        assert torch.equal(o, runs[0][0]) and torch.equal(lse, runs[0][1])
    torch.cuda.synchronize()
    assert not w._plan.count.any()
    monkeypatch.setenv(P.SPLIT_ENV, "0")
    w0 = cute_attn.BatchPrefillWithRaggedKVCacheWrapper()
    w0.plan(indptr(q_lens), indptr(kv_lens), hq, hk, 128, causal=False, q_data_type=dtype)
    assert w0._plan.split is None and w0._plan.num_ctas == w._plan.num_ctas
    o0, l0 = w0.run(q, k, v, return_lse=True)
    o, lse = runs[0]
    mask = _split_mask(w._plan, indptr(q_lens), sum(q_lens), hq).cuda()
    assert mask.any() and not mask.all()
    keep = ~mask
    assert torch.equal(o[keep], o0[keep]) and torch.equal(lse[keep], l0[keep])
    eps = torch.finfo(dtype).eps
    d_o = (o[mask].float() - o0[mask].float()).abs().max().item()
    assert d_o <= 4 * eps * o0[mask].float().abs().max().item() + 1e-6, d_o
    assert (lse[mask] - l0[mask]).abs().max().item() <= 2e-4


def test_graph_capture_replay_of_a_split_plan(rng, monkeypatch):
    q_lens, kv_lens, hq, hk = [3000], [7777], 8, 2
    w = split_wrapper(monkeypatch, q_lens, kv_lens, hq, hk, torch.bfloat16, "many")
    q, k, v = inputs(rng, q_lens, kv_lens, hq, hk, torch.bfloat16)
    eager = w.run(q, k, v).clone()
    out = torch.empty_like(eager)
    g, _ = capture(lambda: w.run(q, k, v, out=out))
    for _ in range(3):
        out.fill_(float("nan"))
        g.replay()
        torch.cuda.synchronize()
        assert torch.equal(out, eager)
    q.copy_(rand(rng, *q.shape))
    g.replay()
    torch.cuda.synchronize()
    assert torch.equal(out, w.run(q, k, v))
    assert not w._plan.count.any()


def paged_cache(gen, k, v, page_size):
    """K / V rows (one request) laid into an NHD paged cache on shuffled page ids: ``(k_cache, v_cache), indptr,
    indices, last``."""
    n, hk, d = k.shape
    pages = -(-n // page_size)
    ids = torch.randperm(pages, generator=gen).to(torch.int32)
    kc = torch.full((pages, page_size, hk, d), float("nan"), dtype=k.dtype, device=k.device)
    vc = torch.full_like(kc, float("nan"))
    slots = torch.arange(n, device=k.device)
    where = ids.long().to(k.device)[slots // page_size]
    kc[where, slots % page_size], vc[where, slots % page_size] = k, v
    last = torch.tensor([(n - 1) % page_size + 1], dtype=torch.int32)
    return (kc, vc), torch.tensor([0, pages], dtype=torch.int32), ids, last


@pytest.mark.parametrize("page_size", [1, 16, 64])
@pytest.mark.parametrize("mode", ["few", "many"])
def test_paged_split_equals_dense_split(rng, monkeypatch, page_size, mode):
    """The paged kernel's split (session 18: its producers walk a piece's key blocks) on the plan the dense wrapper
    makes for the same lengths and cap: the same work rows, and the dense kernel's output on the same K / V bit for
    bit (the consumers, pieces and merge order are the same), checked against the reference too; the counters reset."""
    q_len, kv_len, hq, hk = 1000, 3001, 8, 2
    w = split_wrapper(monkeypatch, [q_len], [kv_len], hq, hk, torch.bfloat16, mode)
    q, k, v = inputs(rng, [q_len], [kv_len], hq, hk, torch.bfloat16)
    dense_o, dense_l = w.run(q, k, v, return_lse=True)
    cache, kv_indptr, kv_indices, last = paged_cache(rng, k, v, page_size)
    pw = cute_attn.BatchPrefillWithPagedKVCacheWrapper()
    pw.plan([0, q_len], kv_indptr, kv_indices, last, hq, hk, 128, page_size, causal=False)
    plan = pw._plan
    assert plan.spec.tile_m == 0 and plan.split == w._plan.split
    assert torch.equal(plan.work.cpu(), w._plan.work.cpu())
    plan.part.fill_(float("nan"))
    out, lse = pw.run(q, cache, return_lse=True)
    check(out, lse, q, k, v, [0, q_len], [0, kv_len], 1 / math.sqrt(128))
    assert torch.equal(out, dense_o) and torch.equal(lse, dense_l), (
        f"paged split != dense split (max diff {(out.float() - dense_o.float()).abs().max().item():.3g})")
    torch.cuda.synchronize()
    assert not plan.count.any(), "split counters not reset"
    if page_size == 16:  # a CUDA graph of the paged split replays it (the counters reset by the kernel)
        eager = out.clone()
        o2 = torch.empty_like(out)
        g, _ = capture(lambda: pw.run(q, cache, out=o2))
        for _ in range(2):
            o2.fill_(float("nan"))
            g.replay()
            torch.cuda.synchronize()
            assert torch.equal(o2, eager)
