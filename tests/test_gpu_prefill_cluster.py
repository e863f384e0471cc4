"""GPU: the 2-CTA cluster variant of the dense non-causal hd256 prefill (on by default; bench/NOTES-prefill.md 27)
against a float32 torch reference on the GPU.

Skipped where the process has ``CUTE_ATTN_PREFILL_CLUSTER=1`` (its plans are then per tile, for a build made with the
switch off). Outputs are NaN-poisoned
(CUTE_ATTN_POISON=1): a tile that no CTA stored stays NaN (e.g. pair rows run on a non-cluster kernel)."""

import importlib
import os

import pytest
import torch

import cute_attn
from cute_attn import artifacts as A
from prefill_helpers import assert_close_to_reference, indptr, rand

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(os.environ.get("CUTE_ATTN_PREFILL_CLUSTER") == "1",
                       reason="CUTE_ATTN_PREFILL_CLUSTER=1: per-tile plans (a build with the clusters off)"),
]
P = importlib.import_module("cute_attn.prefill")  # the package's ``prefill`` attribute is the function


@pytest.fixture(autouse=True)
def poison(monkeypatch):
    monkeypatch.setenv("CUTE_ATTN_POISON", "1")


def ref_gpu(q, k, v, qo, kv, scale):
    """Float32 attention per request and head on the GPU: ``(O, LSE)`` (LSE ``(total_q, hq)``, -inf without keys)."""
    hq, hk = q.shape[1], k.shape[1]
    g = hq // hk
    out = torch.zeros(q.shape[0], hq, v.shape[2], dtype=torch.float32, device=q.device)
    lse = torch.full((q.shape[0], hq), float("-inf"), dtype=torch.float32, device=q.device)
    for b in range(len(qo) - 1):
        q0, q1, k0, k1 = qo[b], qo[b + 1], kv[b], kv[b + 1]
        if q1 == q0 or k1 == k0:
            continue
        for h in range(hq):
            s = q[q0:q1, h].float() @ k[k0:k1, h // g].float().T * scale
            m = s.amax(-1, keepdim=True)
            p = torch.exp(s - m)
            den = p.sum(-1, keepdim=True)
            out[q0:q1, h] = (p @ v[k0:k1, h // g].float()) / den
            lse[q0:q1, h] = (m + den.log()).squeeze(-1)
            del s, p
    return out, lse


def low_gpu(q, k, v, qo, kv, scale):
    """Same-dtype peer (P rounded to the input dtype, fp32 accumulate): the error scale of a correct kernel."""
    hq, hk = q.shape[1], k.shape[1]
    g = hq // hk
    out = torch.zeros(q.shape[0], hq, v.shape[2], dtype=torch.float32, device=q.device)
    for b in range(len(qo) - 1):
        q0, q1, k0, k1 = qo[b], qo[b + 1], kv[b], kv[b + 1]
        if q1 == q0 or k1 == k0:
            continue
        for h in range(hq):
            s = q[q0:q1, h].float() @ k[k0:k1, h // g].float().T * scale
            p = torch.exp(s - s.amax(-1, keepdim=True))
            den = p.sum(-1, keepdim=True)
            out[q0:q1, h] = ((p.to(q.dtype).float() @ v[k0:k1, h // g].float()) / den).to(q.dtype).float()
            del s, p
    return out


def check(out, lse, q, k, v, qo, kv, scale):
    ref_o, ref_l = ref_gpu(q, k, v, qo, kv, scale)
    assert_close_to_reference(out, lse, ref_o, ref_l, low_gpu(q, k, v, qo, kv, scale))


def _check_pair_plan(plan, q_lens, hq):
    """The plan is the cluster plan: pair rows, 2 CTAs per slot, from the cluster build's artifact directory."""
    pairs = sum(-(-(-(-n // 128)) // 2) for n in q_lens) * hq
    assert plan.num_ctas % 2 == 0 and plan.split is None
    _, body = P.split_work(plan.work.cpu(), plan.num_ctas // 2)
    assert len(body) == pairs and not (body[:, 1] % 2).any()
    if os.environ.get("CUTE_ATTN_ARTIFACTS"):
        m = A.Manifest.read(os.environ["CUTE_ATTN_ARTIFACTS"], plan.spec.arch)
        assert m.status(plan.spec) == "ok", f"{plan.spec.name} not built in {os.environ['CUTE_ATTN_ARTIFACTS']}"


def _run(q_lens, kv_lens, hq, hk, gen, dtype=torch.bfloat16, sm_scale=None):
    qo, kv = indptr(q_lens), indptr(kv_lens)
    q, k, v = rand(gen, qo[-1], hq, 256, dtype=dtype), rand(gen, kv[-1], hk, 256, dtype=dtype), \
        rand(gen, kv[-1], hk, 256, dtype=dtype)
    w = cute_attn.BatchPrefillWithRaggedKVCacheWrapper()
    w.plan(torch.tensor(qo, dtype=torch.int32), torch.tensor(kv, dtype=torch.int32), hq, hk, 256, causal=False,
           sm_scale=sm_scale, q_data_type=dtype)
    _check_pair_plan(w._plan, q_lens, hq)
    out, lse = w.run(q, k, v, return_lse=True)
    check(out, lse, q, k, v, qo, kv, (1 / 16) if sm_scale is None else sm_scale)
    assert torch.equal(out, w.run(q, k, v)), "two runs of one plan differ"


@pytest.mark.parametrize("group", [1, 4])
@pytest.mark.parametrize("seqlen", [1, 113, 1023, 4097])
def test_single_request(rng, seqlen, group):
    _run([seqlen], [seqlen], 2 * group, 2, rng)


def test_16k(rng):
    _run([16384], [16384], 2, 2, rng)


def test_ragged_batch_odd_tiles_empty_members(rng):
    """Odd tile counts (the last pair's upper tile past the request: stores nothing), an empty request, a request
    with queries but no key (O 0, LSE -inf), q != kv lengths; GQA 4."""
    q_lens = [300, 0, 129, 1, 1000, 4097, 113, 200]
    kv_lens = [300, 40, 129, 7, 1100, 4097, 1023, 0]
    _run(q_lens, kv_lens, 8, 2, rng)


def test_fp16(rng):
    _run([1023, 4097], [1023, 4097], 4, 4, rng, dtype=torch.float16, sm_scale=0.05)


def test_prefill_function(rng):
    """``cute_attn.prefill`` (its plan cache) takes the cluster plan too."""
    q, k, v = rand(rng, 3000, 4, 256), rand(rng, 3000, 2, 256), rand(rng, 3000, 2, 256)
    out, lse = cute_attn.prefill(q, k, v, return_lse=True)
    check(out, lse, q, k, v, [0, 3000], [0, 3000], 1 / 16)
