"""The 2-CTA clusters of the dense non-causal hd256 prefill (on by default, ``CUTE_ATTN_PREFILL_CLUSTER=1`` turns them
off; bench/NOTES-prefill.md 27): the switch's scope, the host's pair rows and cluster slots (both planners give the
Python reference's plan; never split), and, with the DSL, that the cluster variant compiles for sm_90a with the multicast K/V loads, the
cluster pipelines and the cluster barrier (and the variant with the switch off has none of them)."""

import importlib
import os

import pytest
import torch

import cute_attn
from cute_attn.kernels.common.config import CLUSTER_ENV, prefill_cluster
from prefill_helpers import cpu_plan as _plan

P = importlib.import_module("cute_attn.prefill")  # the package's ``prefill`` attribute is the function


def test_cluster_switch_scope(monkeypatch):
    monkeypatch.delenv(CLUSTER_ENV, raising=False)
    assert prefill_cluster(256, 256, False) == 2  # the default
    monkeypatch.setenv(CLUSTER_ENV, "")
    assert prefill_cluster(256, 256, False) == 2
    monkeypatch.setenv(CLUSTER_ENV, "1")
    assert prefill_cluster(256, 256, False) == 1
    monkeypatch.setenv(CLUSTER_ENV, "2")
    assert prefill_cluster(256, 256, False) == 2
    assert prefill_cluster(256, 256, True) == 1  # causal
    assert prefill_cluster(256, 256, False, paged=True) == 1
    for hd, hdv in ((64, 64), (128, 128), (192, 128)):
        for causal in (False, True):
            assert prefill_cluster(hd, hdv, causal) == 1, (hd, causal)
    for bad in ("4", "0", "on"):
        monkeypatch.setenv(CLUSTER_ENV, bad)
        with pytest.raises(ValueError):
            prefill_cluster(256, 256, False)


def test_kernel_cluster_attribute(monkeypatch):
    """The kernel reads the switch at build time (its constructor); the paged subclass never."""
    pytest.importorskip("cutlass")
    from cute_attn.kernels import prefill_paged_sm90, prefill_sm90

    monkeypatch.setenv(CLUSTER_ENV, "2")
    assert prefill_sm90.PrefillSm90("bf16", 256, 256, False).cluster == 2
    assert prefill_sm90.PrefillSm90("fp16", 256, 256, False).cluster == 2
    assert prefill_sm90.PrefillSm90("bf16", 256, 256, True).cluster == 1
    assert prefill_sm90.PrefillSm90("bf16", 128, 128, False).cluster == 1
    assert prefill_paged_sm90.PrefillPagedSm90("bf16", 256, 256, False, 0).cluster == 1
    monkeypatch.delenv(CLUSTER_ENV)
    assert prefill_sm90.PrefillSm90("bf16", 256, 256, False).cluster == 2  # the default
    monkeypatch.setenv(CLUSTER_ENV, "1")
    assert prefill_sm90.PrefillSm90("bf16", 256, 256, False).cluster == 1


@pytest.mark.parametrize("causal", [False, True])
def test_work_list_cluster_pairs(causal):
    """cluster = 2: one row per pair of query tiles m, m + 1 (m even) of one (request, head), every tile in exactly
    one pair (an odd count's last pair runs past the request), heaviest pair first; cluster = 1 is the per-tile
    list."""
    q_lens, kv_lens, heads, tile_m = [300, 0, 1, 129, 128, 1024], [300, 50, 7, 1000, 0, 1024], 3, 128
    for row_bytes in (0, 1024):
        work, costs = P.make_work_list(q_lens, kv_lens, heads, tile_m, causal, heads, row_bytes, return_costs=True,
                                       cluster=2)
        pairs = [tuple(r[:3]) for r in work.tolist()]
        assert all(m % 2 == 0 for _, m, _ in pairs) and len(set(pairs)) == len(pairs)
        covered = {(b, m + r, h) for b, m, h in pairs for r in (0, 1) if m + r < -(-q_lens[b] // tile_m)}
        expected = {(b, m, h) for b, ql in enumerate(q_lens) for m in range(-(-ql // tile_m)) for h in range(heads)}
        assert covered == expected
        assert len(pairs) == sum(-(-(-(-ql // tile_m)) // 2) for ql in q_lens) * heads
        assert not work[:, 3].any()

        def cost(b, m):
            return P._tile_cost(q_lens[b], kv_lens[b], m, tile_m, causal)

        want = [max(cost(b, t) for t in (m, m + 1) if t < -(-q_lens[b] // tile_m)) for b, m, _ in pairs]
        assert costs == want
        if not row_bytes:
            assert costs == sorted(costs, reverse=True)
        assert P.make_work_list(q_lens, kv_lens, heads, tile_m, causal, heads, row_bytes, cluster=1).tolist() == \
            P.make_work_list(q_lens, kv_lens, heads, tile_m, causal, heads, row_bytes).tolist()


@pytest.fixture(params=["python", "compiled"])
def planner(request):
    if request.param == "python":
        return None
    return request.getfixturevalue("prefill_plan_lib")


@pytest.mark.parametrize("slots", [132, 7, None])
def test_plan_cluster_pairs(monkeypatch, planner, slots):
    """Switch on, hd256 non-causal: pair rows on slots = clusters (num_ctas = 2 x slots used), the Python planner's
    plan whichever planner runs (the compiled one plans 256-row tiles and doubles their m_block), never split; a ragged batch with an empty request and odd tile counts."""
    q_lens, kv_lens, hq, hk = [16384, 0, 1, 129, 4097, 300], [16384, 50, 7, 1000, 4097, 300], 8, 2
    monkeypatch.setenv(CLUSTER_ENV, "2")
    plan = _plan(monkeypatch, q_lens, kv_lens, hq, hk, 256, slots=slots, planner=planner)
    n_pairs = sum(-(-(-(-ql // 128)) // 2) for ql in q_lens) * hq
    clusters = n_pairs if slots is None else min(slots // 2, n_pairs)
    assert plan.num_ctas == 2 * clusters and plan.split is None
    table, body = P.split_work(plan.work, clusters)
    assert table[-1] == plan.work.shape[0] and len(body) == n_pairs
    rows, costs = P.make_work_list(q_lens, kv_lens, hq, 128, False, hk, 2 * 256 * 2, return_costs=True, cluster=2)
    ref, ctas, how = P.schedule_work(rows, costs, clusters)
    assert ctas == clusters and torch.equal(plan.work, ref) and plan.schedule == how
    assert {tuple(r) for r in body.tolist()} == {tuple(r) for r in rows.tolist()}
    assert not body[:, 3].any()


@pytest.mark.parametrize("hd,causal", [(256, True), (128, False), (64, False), (192, False)])
def test_plan_cluster_switch_leaves_other_variants(monkeypatch, planner, hd, causal):
    """Switch on: the plans of every other dense variant are the switch-off plans (split included)."""
    hdv = 128 if hd == 192 else hd
    plans = []
    for value in ("1", "2"):
        monkeypatch.setenv(CLUSTER_ENV, value)
        qo = [0, 16384, 16384 + 300]
        monkeypatch.setattr(P, "_plan_slots", lambda device: 132)
        monkeypatch.setattr(P, "_PLAN_LIB", [planner])
        monkeypatch.setattr(P, "PLAN_FALLBACK_REASON", [None if planner else "test"])
        w = cute_attn.BatchPrefillWithRaggedKVCacheWrapper(device="cpu")
        w.plan(qo, qo, 2048 // hd, 2048 // hd, hd, head_dim_vo=hdv, causal=causal)
        plans.append(w._plan)
    a, b = plans
    assert torch.equal(a.work, b.work) and a.num_ctas == b.num_ctas and a.split == b.split
    assert a.schedule == b.schedule


def test_plan_cluster_off_is_unchanged(monkeypatch, planner):
    """Switch 1: the hd256 non-causal plan is the per-tile plan; unset: the pair plan."""
    monkeypatch.setenv(CLUSTER_ENV, "1")
    a = _plan(monkeypatch, [4097, 300], [4097, 300], 8, 8, 256, planner=planner)
    _, body = P.split_work(a.work, a.num_ctas)
    assert len(body) == (33 + 3) * 8
    monkeypatch.delenv(CLUSTER_ENV)
    b = _plan(monkeypatch, [4097, 300], [4097, 300], 8, 8, 256, planner=planner)
    _, body = P.split_work(b.work, b.num_ctas // 2)
    assert len(body) == (17 + 2) * 8


@pytest.mark.compile
def test_cluster_variant_compiles(monkeypatch, tmp_path):
    """Switch on, hd256 non-causal bf16: compiles for sm_90a; the PTX has the multicast K/V loads (4 boxes of 40 x 64
    per load site), the remote empty-barrier arrives, the cluster barrier and the cluster ids. Switch off: none of
    them (the PTX identity with main's is checked by hand: bench/NOTES-prefill.md 27)."""
    pytest.importorskip("cutlass")
    from cute_attn.build import build

    name = "prefill_bf16_headdim256_headdimv256_nocausal_sm90a"
    ptx = {}
    for value in ("2", "1"):
        monkeypatch.setenv(CLUSTER_ENV, value)
        out = str(tmp_path / f"c{value}")
        _, failures = build(out=out, jobs=1, only=[name], force=True, keep_ptx=True, log=lambda line: None)
        assert not [f for f in failures if f[0] == name], failures
        ptx[value] = open(os.path.join(out, name + ".ptx")).read()
    on, off = ptx["2"], ptx["1"]
    assert on.count("multicast::cluster") == 16
    assert on.count("mbarrier.arrive.shared::cluster") == 4 and "mapa.shared::cluster" in on
    assert "barrier.cluster.arrive.relaxed" in on and "barrier.cluster.wait" in on
    assert "%clusterid.x" in on and "%cluster_ctarank" in on
    for needle in ("multicast::cluster", "barrier.cluster", "%clusterid", "%cluster_ctarank", "mapa"):
        assert needle not in off, needle
