"""The compiled prefill planner (cute_attn/csrc/prefill_plan.cpp: prefill_plan_packed) against the Python planner
(make_work_list + schedule_work, the reference): the same work tensor bit for bit, the same schedule choice, variant
and indptr copies, on random batches; and plan()'s fallback to the Python planner when the library is missing."""

import importlib
import random
import warnings

import pytest
import torch

import cute_attn
from cute_attn import hostlib

P = importlib.import_module("cute_attn.prefill")
CONFIG = importlib.import_module("cute_attn.kernels.common.config")


@pytest.fixture
def lib(prefill_plan_lib):
    """The compiled planner (conftest's ``prefill_plan_lib``, built once per session)."""
    return prefill_plan_lib


@pytest.fixture
def use_lib(monkeypatch, lib):
    """plan() with the freshly built planner (whatever the artifact directories hold)."""
    monkeypatch.setattr(P, "_PLAN_LIB", [lib])
    monkeypatch.setattr(P, "PLAN_FALLBACK_REASON", [None])
    return lib


@pytest.fixture
def no_lib(monkeypatch):
    """plan() with the Python planner only."""
    monkeypatch.setattr(P, "_PLAN_LIB", [None])
    monkeypatch.setattr(P, "PLAN_FALLBACK_REASON", ["test"])


def _indptr(lens):
    out = [0]
    for n in lens:
        out.append(out[-1] + n)
    return out


def _random_batch(rng):
    batch = rng.choice([1, 1, 2, 3, rng.randint(1, 12), rng.randint(1, 40)])
    q_lens = [rng.choice([0, 1, 1, 2, 17, 63, 64, 65, 127, 128, 129, 191, 192, 193, rng.randint(1, 3000),
                          rng.randint(1, 9000)]) for _ in range(batch)]
    kv_lens = [q + rng.choice([0, 0, 1, rng.randint(0, 3000), rng.randint(0, 20000)]) for q in q_lens]
    if rng.random() < 0.1:
        kv_lens = [rng.choice([0, 1, 5]) for _ in q_lens]  # kv shorter than q (append rows that see no key)
    return q_lens, kv_lens


def _same(a, b):
    """Two _HostPlans (Python, compiled) are identical: work bit for bit, CTAs, schedule, variant, indptr copies."""
    assert a.work.dtype == b.work.dtype == torch.int32
    assert a.work.shape == b.work.shape
    assert torch.equal(a.work, b.work)
    assert (a.num_ctas, a.schedule, a.variant_m) == (b.num_ctas, b.schedule, b.variant_m)
    assert torch.equal(a.qo, b.qo) and torch.equal(a.kv, b.kv)
    assert (a.extra is None) == (b.extra is None)
    if a.extra is not None:
        assert torch.equal(a.extra, b.extra)


def test_compiled_plan_equals_python_on_random_batches(lib):
    """Random ragged batches (lengths 0 and 1, kv longer and shorter than q), causal and full, GQA / MQA, every
    tile_m the kernels use (and the short-tile rule), K/V row sizes, slot counts 1..132 and one per row, and each
    CUTE_ATTN_PREFILL_SCHEDULE value."""
    rng = random.Random(11)
    tiles = sorted({CONFIG.prefill_tile(d, dv, c)[0] for d, dv in P.PREFILL_HEAD_DIMS for c in (False, True)}
                   | {short[0] for short in CONFIG.PREFILL_SHORT_TILE.values()} | {64, 128, 192})
    hows = set()
    for trial in range(600):
        q_lens, kv_lens = _random_batch(rng)
        qo, kv = _indptr(q_lens), _indptr(kv_lens)
        hk = rng.choice([1, 2, 4, 8])
        hq = hk * rng.choice([1, 1, 2, 4, 8])
        causal = rng.random() < 0.6
        base = rng.choice(tiles)
        short = rng.choice([None, None, (128, 1.10), (64, 1.25), (rng.choice(tiles), 1.0)])
        row_bytes = rng.choice([0, 256, 512, 768, 1024])
        slots = rng.choice([-1, 1, 2, 3, 7, 64, 131, 132, rng.randint(1, 132)])
        only = rng.choice(["", "", "serpentine", "list"])
        extra = _indptr([rng.randint(0, 50) for _ in q_lens]) if rng.random() < 0.3 else None
        a = P._plan_host_python(qo, kv, extra, hq, hk, causal, base, short, row_bytes, slots, only)
        b = P._plan_host_compiled(lib, qo, kv, extra, hq, hk, causal, base, short, row_bytes, slots, only, False)
        try:
            _same(a, b)
        except AssertionError:
            raise AssertionError(f"trial {trial}: {q_lens} {kv_lens} hq={hq} hk={hk} causal={causal} tile={base} "
                                 f"short={short} row_bytes={row_bytes} slots={slots} only={only!r}") from None
        hows.add(a.schedule.split("+")[0])
    assert hows == {"empty", "serpentine", "list"}  # every branch of the choice was compared


@pytest.mark.parametrize("lens,causal", [([16384], True), ([4096] * 4, True), ([1024] * 16, True),
                                         ([8192, 4096, 2048, 1024, 512, 512, 256, 128, 3000, 17, 1, 700], True),
                                         ([8192, 4096, 2048, 1024, 512, 512, 256, 128, 3000, 17, 1, 700], False),
                                         ("ragged64", True), ("ragged64", False)])
@pytest.mark.parametrize("hq,hk,hd", [(16, 16, 128), (32, 8, 128), (8, 1, 64), (16, 2, 256)])
def test_compiled_plan_equals_python_on_bench_batches(lib, lens, causal, hq, hk, hd):
    """The batches of bench.prefill (and bench.prefill_plan_host) on 132 slots, each with the real tile table."""
    if lens == "ragged64":
        r = random.Random(0)
        lens = [r.randint(1, 2000) for _ in range(64)]
    qo = _indptr(lens)
    base = P.tile_m_for(hd, hd, causal)
    short = CONFIG.PREFILL_SHORT_TILE.get((hd, hd, causal))
    for slots in (132, 114, 1):
        a = P._plan_host_python(qo, qo, None, hq, hk, causal, base, short, 2 * hd * 2, slots, "")
        b = P._plan_host_compiled(lib, qo, qo, None, hq, hk, causal, base, short, 2 * hd * 2, slots, "", False)
        _same(a, b)


def test_scratch_len_agrees(lib):
    rng = random.Random(5)
    for _ in range(200):
        batch, rows = rng.randint(0, 500), rng.randint(0, 100000)
        slots = rng.choice([-1, 1, 132, rng.randint(1, 10**5)])
        assert P._plan_scratch_len(batch, rows, slots) == lib.prefill_plan_scratch_len(batch, rows, slots)


def _plan_fields(w):
    p = w._plan
    return p.spec, p.num_ctas, p.work.clone(), p.qo_indptr.clone(), p.kv_indptr.clone()


def _dense_plans(monkeypatch, lib, make):
    """``make(w)`` plans ``w``: the plans of the compiled and the Python planner."""
    out = []
    for planner in (lib, None):
        monkeypatch.setattr(P, "_PLAN_LIB", [planner])
        monkeypatch.setattr(P, "PLAN_FALLBACK_REASON", [None if planner else "test"])
        w = cute_attn.BatchPrefillWithRaggedKVCacheWrapper(device="cpu")
        make(w)
        out.append((_plan_fields(w), w._plan.schedule))
    return out


def _assert_same_plans(plans):
    (fa, sa), (fb, sb) = plans
    assert fa[0] == fb[0] and fa[1] == fb[1] and sa == sb
    for x, y in zip(fa[2:], fb[2:]):
        assert x.dtype == y.dtype and x.shape == y.shape and torch.equal(x, y)


@pytest.mark.parametrize("cap", [None, "1", "7", "132", "1000"])
@pytest.mark.parametrize("schedule", ["", "serpentine", "list"])
def test_wrapper_plans_agree_with_switches(monkeypatch, lib, cap, schedule):
    """The dense wrapper's plan() (lists and int32 tensors; every head-dim pair, both masks, GQA) is the same with
    either planner, under CUTE_ATTN_PREFILL_SCHEDULE and the CTA cap CUTE_ATTN_PREFILL_CTAS (the GPU's slot count,
    here with a stand-in 132-SM device)."""
    monkeypatch.setattr(P, "_num_sms", lambda device: 132)
    monkeypatch.setattr(P, "_plan_slots", lambda device: P._max_ctas(torch.device("cuda")))
    if cap is None:
        monkeypatch.delenv("CUTE_ATTN_PREFILL_CTAS", raising=False)
    else:
        monkeypatch.setenv("CUTE_ATTN_PREFILL_CTAS", cap)
    monkeypatch.setenv("CUTE_ATTN_PREFILL_SCHEDULE", schedule)
    rng = random.Random(hash((cap, schedule)) & 0xFFFF)
    for trial in range(12):
        q_lens, kv_lens = _random_batch(rng)
        hd, hdv = rng.choice(P.PREFILL_HEAD_DIMS)
        hk = rng.choice([1, 2, 4])
        hq = hk * rng.choice([1, 2, 4])
        causal = rng.random() < 0.6
        dtype = rng.choice([torch.bfloat16, torch.float16])
        qo, kv = _indptr(q_lens), _indptr(kv_lens)
        if trial % 2:
            qo, kv = torch.tensor(qo, dtype=torch.int32), torch.tensor(kv, dtype=torch.int32)
        plans = _dense_plans(monkeypatch, lib, lambda w: w.plan(qo, kv, hq, hk, hd, hdv, causal=causal,
                                                                q_data_type=dtype))
        _assert_same_plans(plans)
        if cap is not None and sum(q_lens):
            # a 2-CTA cluster variant (hd256 non-causal) runs at least one cluster whatever the cap
            cluster = 2 if (hd, causal) == (256, False) else 1
            assert plans[0][0][1] <= max(cluster, min(132, int(cap)))


def test_paged_wrapper_plans_agree(monkeypatch, lib):
    """The paged wrapper's plan() (cu_seqlens_k and the page indptr come out of the same call) with either planner."""
    rng = random.Random(4)
    monkeypatch.setattr(P, "_num_sms", lambda device: 132)
    for trial in range(40):
        q_lens, kv_lens = _random_batch(rng)
        kv_lens = [max(k, q) for q, k in zip(q_lens, kv_lens)]
        page = rng.choice([1, 16, 64])
        pages = [-(-n // page) for n in kv_lens]
        kv_indptr = torch.tensor(_indptr(pages), dtype=torch.int32)
        kv_indices = torch.randperm(max(sum(pages), 1)).to(torch.int32)
        last = torch.tensor([(n - 1) % page + 1 if n else 0 for n in kv_lens], dtype=torch.int32)
        qo = torch.tensor(_indptr(q_lens), dtype=torch.int32)
        d = rng.choice([64, 128, 256])
        hk = rng.choice([1, 2, 8])
        hq = hk * rng.choice([1, 4])
        slots = rng.choice([-1, 132, 7])
        monkeypatch.setattr(P, "_plan_slots", lambda device, s=slots: s)
        plans = []
        for planner in (lib, None):
            monkeypatch.setattr(P, "_PLAN_LIB", [planner])
            w = cute_attn.BatchPrefillWithPagedKVCacheWrapper(device="cpu")
            w.plan(qo, kv_indptr, kv_indices, last, hq, hk, d, page, causal=trial % 3 != 0)
            p = w._plan
            plans.append((p.spec, p.num_ctas, p.total_kv, p.work, p.qo_indptr, p.cu_seqlens_k, p.kv_indptr))
        a, b = plans
        assert a[:3] == b[:3]
        for x, y in zip(a[3:], b[3:]):
            assert x.dtype == y.dtype == torch.int32 and x.shape == y.shape and torch.equal(x, y)


def test_compiled_plan_raises_the_python_messages(use_lib):
    """Bad indptr values go through the compiled planner unchecked; it declines them and the Python checks raise."""
    w = cute_attn.BatchPrefillWithRaggedKVCacheWrapper(device="cpu")
    for qo, kv, match in (([0, 5, 3], [0, 5, 9], "qo_indptr must be non-decreasing"),
                          ([0, 5, 9], [0, 5, 4], "kv_indptr must be non-decreasing"),
                          ([1, 5], [0, 5], r"qo_indptr\[0\] must be 0"), ([0, 5], [2, 5], r"kv_indptr\[0\] must be 0"),
                          ([], [], "at least one element")):
        with pytest.raises(ValueError, match=match):
            w.plan(qo, kv, 4, 4, 128)
    with pytest.raises(TypeError, match=r"qo_indptr\[1\] must be an int"):
        w.plan([0, 5.0], [0, 5], 4, 4, 128)
    w.plan([0], [0], 4, 4, 128)  # an empty batch
    assert w._plan.work.shape == (0, 4) and w._plan.num_ctas == 0 and w._plan.schedule == "empty"


def test_fallback_when_the_library_is_missing(monkeypatch):
    """No library in the artifact directories: plan() runs the Python planner, warns once with the reason, and
    planner() says why; CUTE_ATTN_NO_HOSTLIB=1 gives the Python planner without a warning."""
    monkeypatch.setattr(P, "_PLAN_LIB", [])
    monkeypatch.setattr(P, "PLAN_FALLBACK_REASON", [])
    monkeypatch.setattr(hostlib, "_loaded", {})
    monkeypatch.setattr(hostlib, "find", lambda name: None)
    monkeypatch.delenv("CUTE_ATTN_NO_HOSTLIB", raising=False)
    w = cute_attn.BatchPrefillWithRaggedKVCacheWrapper(device="cpu")
    with pytest.warns(RuntimeWarning, match=r"Python planner .*prefill_plan-[0-9a-f]+\.so not found"):
        w.plan([0, 300, 301], [0, 300, 900], 8, 2, 128, causal=True)
    assert P.planner().startswith("python: prefill_plan-") and "python -m cute_attn.build" in P.planner()
    ref = P._plan_host_python([0, 300, 301], [0, 300, 900], None, 8, 2, True, *P._plan_consts(128, 128, True),
                              512, -1, "")
    assert torch.equal(w._plan.work, ref.work) and w._plan.schedule == ref.schedule
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per process
        w.plan([0, 5], [0, 5], 4, 4, 128)

    monkeypatch.setattr(P, "_PLAN_LIB", [])
    monkeypatch.setattr(P, "PLAN_FALLBACK_REASON", [])
    monkeypatch.setattr(hostlib, "_loaded", {})
    monkeypatch.setenv("CUTE_ATTN_NO_HOSTLIB", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w.plan([0, 5], [0, 5], 4, 4, 128)
    assert P.planner() == "python: disabled by CUTE_ATTN_NO_HOSTLIB=1"


def test_planner_reports_compiled(use_lib):
    assert P.planner() == "compiled"


def test_compiled_tile_choice_is_choose_tile_m(use_lib):
    """plan()'s variant (the compiled planner applies the rule) is choose_tile_m's, on random hd64 causal batches (the
    head dims with a short-request tile) and on others (always the table's tile)."""
    rng = random.Random(8)
    w = cute_attn.BatchPrefillWithRaggedKVCacheWrapper(device="cpu")
    seen = set()
    for _ in range(150):
        q_lens, kv_lens = _random_batch(rng)
        hd, causal = rng.choice([(64, True), (64, True), (64, False), (128, True)])
        w.plan(_indptr(q_lens), _indptr(kv_lens), 4, 2, hd, causal=causal)
        want = P.choose_tile_m(q_lens, hd, hd, causal)
        assert w._plan.spec.tile_m == want
        seen.add(want)
    assert len(seen) == 2


@pytest.mark.parametrize("forced", [0, 128])
def test_a_replaced_choose_tile_m_forces_the_variant(monkeypatch, use_lib, forced):
    """tests/test_gpu_prefill.py and bench.prefill_ab replace choose_tile_m to force a variant: plan() follows it
    (with the compiled planner too), and the work rows use that variant's tile."""
    monkeypatch.setattr(P, "choose_tile_m", lambda *a: forced)
    q_lens = [1, 113, 0, 1023, 4097, 200]
    w = cute_attn.BatchPrefillWithRaggedKVCacheWrapper(device="cpu")
    w.plan(_indptr(q_lens), _indptr([1, 113, 5, 1500, 4097, 191]), 8, 2, 64, causal=True)
    assert w._plan.spec.tile_m == forced
    tile = P.tile_m_for(64, 64, True, forced)
    _, rows = P.split_work(w._plan.work, w._plan.num_ctas)
    assert len(rows) == 8 * sum(-(-n // tile) for n in q_lens)


def test_replaced_pieces_run_the_python_planner(monkeypatch, use_lib):
    """An experiment that replaces make_work_list / schedule_work or changes LIST_TAIL_ROUNDS gets the Python planner
    (the compiled one has them built in)."""
    calls = []
    orig = P.schedule_work
    monkeypatch.setattr(P, "schedule_work", lambda *a, **k: calls.append(1) or orig(*a, **k))
    w = cute_attn.BatchPrefillWithRaggedKVCacheWrapper(device="cpu")
    w.plan([0, 300, 900], [0, 300, 900], 8, 2, 128, causal=True)
    assert calls
    monkeypatch.setattr(P, "schedule_work", orig)
    monkeypatch.setattr(P, "LIST_TAIL_ROUNDS", (0, 1))
    seen = []
    monkeypatch.setattr(P, "_plan_host_python", lambda *a: seen.append(1) or orig_python(*a))
    w.plan([0, 300, 900], [0, 300, 900], 8, 2, 128, causal=True)
    assert seen


orig_python = P._plan_host_python
