"""Split-KV of the last round of the dense prefill schedule, on the host (``cute_attn.prefill.split_tail``): the
post-pass on many schedules, when plan() applies it, the kernel buffers, the paged plan (never split), and a pure-torch
emulation of the kernel's merge contract (pieces over key blocks, normalized O and LSE per piece in ``part``, merged
by the LSEs) against the reference attention."""

import collections
import contextlib
import importlib
import math
import random
import types
from fractions import Fraction

import numpy as np
import pytest
import torch

import cute_attn
from cute_attn import reference as R
from prefill_helpers import cpu_plan as _plan

P = importlib.import_module("cute_attn.prefill")  # the package's ``prefill`` attribute is the function
PP = importlib.import_module("cute_attn.prefill_paged")


def _rows(n: int, rng: random.Random) -> torch.Tensor:
    """``n`` distinct (batch, m_block, q_head, 0) rows in a random order."""
    keys = rng.sample(range(n * 7), n)
    return torch.tensor([(x % 3, x // 21, (x // 3) % 7, 0) for x in keys], dtype=torch.int32).reshape(-1, 4)


def _check_split(work_in, n, out, kv_len, tile_n):
    """The invariants of a split_tail result ``out = (work, groups, pieces)`` of ``work_in`` on ``n`` slots."""
    new, G, Pc = out
    assert new.dtype == np.int32 and new.shape[1] == 4
    table_in, rows_in = P.split_work(work_in, n)
    table, body = P.split_work(torch.from_numpy(new), n)
    R_in = len(rows_in)
    k, t = divmod(R_in, n)
    nb = -(-kv_len // tile_n)
    assert G == t and Pc == min(n // t, P.SPLIT_MAX_PIECES, nb) and 2 <= Pc <= 15 and G < P.SPLIT_MAX_GROUPS
    assert table[0] == (n + 4) // 4 and table[-1] == new.shape[0] == table[0] + R_in - t + t * Pc
    # every input tile once: whole, or as exactly Pc pieces of one group that cover [0, nb) without overlap
    whole, pieces = {}, {}
    for s in range(n):
        slot_rows = [tuple(r) for r in torch.from_numpy(new)[table[s]:table[s + 1]].tolist()]
        kinds = [r[3] != 0 for r in slot_rows]
        assert len(slot_rows) == k + (1 if s < t * Pc else 0)
        assert not any(kinds[:k]) and (s >= t * Pc or kinds[k])  # k whole rows, then the slot's piece
        # the slot's whole rows are its first k rows of the input, in order
        assert slot_rows[:k] == [tuple(r) for r in work_in[table_in[s]:table_in[s] + k].tolist()]
        for r in slot_rows:
            key = r[:3]
            if r[3] == 0:
                assert key not in whole
                whole[key] = s
            else:
                g, p, pcs = P.split_fields(r[3])
                assert pcs == Pc and 0 <= p < Pc and 0 <= g < G
                assert s == p * t + g  # piece j = p * t + g on slot j
                pieces.setdefault(g, []).append((p, key, s))
    assert len(whole) == R_in - t and len(pieces) == G
    for g, lst in pieces.items():
        assert sorted(p for p, _, _ in lst) == list(range(Pc))
        assert len({key for _, key, _ in lst}) == 1 and lst[0][1] not in whole
        assert len({s for _, _, s in lst}) == Pc  # distinct slots
        ranges = sorted(P.split_blocks(nb, p, Pc) for p, _, _ in lst)
        assert ranges[0][0] == 0 and ranges[-1][1] == nb
        assert all(lo < hi for lo, hi in ranges) and all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    # groups 0..t-1: the last rows of the slots that held k + 1, in slot order
    counts = np.diff(table_in)
    long_slots = [s for s in range(n) if counts[s] == k + 1]
    assert [pieces[g][0][1] for g in range(G)] == [tuple(work_in[table_in[s + 1] - 1, :3].tolist()) for s in long_slots]
    all_in = sorted(tuple(r[:3]) for r in rows_in.tolist())
    assert sorted(list(whole) + [pieces[g][0][1] for g in range(G)]) == all_in
    # cost model: a whole tile 1, a piece 1/P: the makespan is k + 1/P, below the unsplit k + 1
    loads = [Fraction(0)] * n
    for s in range(n):
        for r in torch.from_numpy(new)[table[s]:table[s + 1]].tolist():
            loads[s] += 1 if r[3] == 0 else Fraction(1, Pc)
    assert max(loads) == k + Fraction(1, Pc) <= max(np.diff(table_in))
    return G, Pc


def test_split_tail_random_schedules():
    rng = random.Random(10)
    split = 0
    for trial in range(400):
        n = rng.choice([1, 2, 3, 7, 16, 64, 114, 132, rng.randint(1, 200)])
        R_ = rng.choice([rng.randint(1, 3 * n + 5), n * rng.randint(1, 4) + rng.randint(0, n), n, n + 1, 2 * n - 1,
                         n * rng.randint(1, 4) + rng.randint(1, max(1, n // 2)), n * rng.randint(1, 4) + 1])
        kv_len = rng.choice([0, 1, 79, 80, 81, 160, 1000, 7777, 16384, rng.randint(1, 5000)])
        tile_n = rng.choice([64, 80, 112, 128])
        rows = _rows(R_, rng)
        only = rng.choice(["serpentine", "list", ""])
        work, ctas, _ = P.schedule_work(rows, [kv_len + 1] * R_, n, only=only)
        res = P.split_tail(work, ctas, kv_len, tile_n)
        k, t = divmod(R_, ctas)
        nb = -(-kv_len // tile_n)
        want = R_ > ctas and t > 0 and min(ctas // t, 15, nb) >= 2
        assert (res is not None) == want, (R_, ctas, kv_len, tile_n)
        if res is not None:
            _check_split(work, ctas, res, kv_len, tile_n)
            split += 1
    assert split > 100


@pytest.mark.parametrize("R_,n,kv_len,want", [(1376, 132, 16384, (56, 2)), (1376, 86, 16384, None),
                                              (1376, 100, 16384, None), (24, 23, 7777, (1, 15)),
                                              (24, 23, 1000, (1, 13)), (24, 20, 7777, (4, 5)), (24, 24, 7777, None),
                                              (25, 24, 80, None), (25, 24, 81, (1, 2)), (10, 3, 0, None)])
def test_split_tail_cases(R_, n, kv_len, want):
    """1 x 16k hd128 16 heads on 132 CTAs: 56 tiles in the last round, 2 pieces each; t == 0 (86 divides 1376);
    P < 2 (100 CTAs: 76 left, 100 // 76 = 1); the 15-piece and the key-block caps (nb = 13 at 1000 keys, 1 at 80)."""
    rows = _rows(R_, random.Random(R_ + n))
    work, ctas, _ = P.schedule_work(rows, [kv_len + 1] * R_, n)
    res = P.split_tail(work, ctas, kv_len, 80)
    assert (None if res is None else res[1:]) == want
    if res is not None:
        _check_split(work, ctas, res, kv_len, 80)


def test_split_tail_declines_unbalanced_schedules():
    """Only a schedule of k or k + 1 rows per slot is split (other costs, other schedules: left as they are)."""
    rows = _rows(20, random.Random(1))
    head = 2  # 5 slots: 6 table entries
    table = [head, head + 3, head + 8, head + 12, head + 16, head + 20, 0, 0]  # 3, 5, 4, 4, 4 rows
    work = torch.cat([torch.tensor(table, dtype=torch.int32).view(2, 4), rows])
    assert P.split_tail(work, 5, 4000, 80) is None
    table = [head, head + 4, head + 8, head + 12, head + 16, head + 20, 0, 0]  # 4 each: t == 0
    work = torch.cat([torch.tensor(table, dtype=torch.int32).view(2, 4), rows])
    assert P.split_tail(work, 5, 4000, 80) is None
    rows = _rows(22, random.Random(2))
    table = [head, head + 5, head + 10, head + 14, head + 18, head + 22, 0, 0]  # 5, 5, 4, 4, 4: t = 2
    work = torch.cat([torch.tensor(table, dtype=torch.int32).view(2, 4), rows])
    res = P.split_tail(work, 5, 4000, 80)
    assert res is not None and res[1:] == (2, 2)
    _check_split(work, 5, res, 4000, 80)


def _work_of(counts, rows):
    head = (len(counts) + 4) // 4
    table = [head]
    for c in counts:
        table.append(table[-1] + c)
    table += [0] * (head * 4 - len(table))
    return torch.cat([torch.tensor(table, dtype=torch.int32).view(head, 4), rows])


def test_split_tail_long_slots_anywhere():
    """Slot tables whose k + 1-row slots are not one run (the general path), and tables that are not k or k + 1
    rows per slot (declined)."""
    rng = random.Random(11)
    for trial in range(300):
        n = rng.randint(2, 140)
        k, t = rng.randint(1, 5), rng.randint(1, n - 1)
        long_slots = set(rng.sample(range(n), t))
        counts = [k + (s in long_slots) for s in range(n)]
        R_ = sum(counts)
        work = _work_of(counts, _rows(R_, rng))
        kv_len = rng.choice([100, 1000, 16384])
        res = P.split_tail(work, n, kv_len, 80)
        want = min(n // t, 15, -(-kv_len // 80)) >= 2
        assert (res is not None) == want
        if res is not None:
            _check_split(work, n, res, kv_len, 80)
        # one slot one row short and another one row long: declined
        if t >= 1 and len(long_slots) < n - 1:
            s_short = next(s for s in range(n) if s not in long_slots)
            bad = list(counts)
            bad[s_short] -= 1
            bad[next(iter(long_slots))] += 1
            assert P.split_tail(_work_of(bad, _rows(R_, rng)), n, kv_len, 80) is None


def test_split_word_round_trip():
    for g, p, n in [(0, 0, 2), (5, 14, 15), ((1 << 23) - 1, 3, 4)]:
        w = P.split_word(g, p, n)
        assert 0 < w < 2 ** 31 and P.split_fields(w) == (g, p, n)
    assert P.split_fields(0) == (0, 0, 0)


# ------------------------------------------------------------------------------------------------- plan()


def _no_split(plan, hdv=128):
    assert plan.split is None
    assert plan.part.shape == (1, hdv + 1) and plan.part.dtype == torch.float32
    assert plan.count.shape == (4,) and plan.count.dtype == torch.int32 and not plan.count.any()
    if plan.work.shape[0]:
        _, body = P.split_work(plan.work, plan.num_ctas)
        assert not body[:, 3].any()


@pytest.fixture(params=["python", "compiled"])
def planner(request):
    if request.param == "python":
        return None
    return request.getfixturevalue("prefill_plan_lib")


def test_plan_splits_16k_hd128(monkeypatch, planner):
    monkeypatch.delenv(P.SPLIT_ENV, raising=False)
    plan = _plan(monkeypatch, [16384], [16384], planner=planner)
    assert P.tile_m_for(128, 128, False, plan.spec.tile_m) == 192 and plan.num_ctas == 132
    assert plan.split == (56, 2)
    assert plan.part.shape == (56 * 2 * 192, 129) and plan.part.dtype == torch.float32 and plan.part.is_contiguous()
    assert plan.count.shape == (56 * 4,) and plan.count.dtype == torch.int32 and not plan.count.any()
    table, body = P.split_work(plan.work, 132)
    assert len(body) == 1376 - 56 + 112 and table[-1] == plan.work.shape[0]
    assert plan.qo_indptr.tolist() == [0, 16384] and plan.kv_indptr.tolist() == [0, 16384]
    monkeypatch.setenv(P.SPLIT_ENV, "0")
    off = _plan(monkeypatch, [16384], [16384], planner=planner)
    _no_split(off)
    rows = P.split_work(off.work, 132)[1]
    assert len(rows) == 1376
    _check_split(off.work, 132, (plan.work.numpy(), 56, 2), 16384, 80)


def test_compiled_and_python_plans_agree_with_split(monkeypatch, prefill_plan_lib):
    """Both planners give the same split plan (the compiled one rewrites its own pinned-able output in place)."""
    rng = random.Random(3)
    seen = 0
    for trial in range(30):
        batch = rng.randint(1, 4)
        q_lens = [rng.choice([0, 1, 500, 1000, 3000, 4097]) for _ in range(batch)]
        kv = rng.choice([1, 81, 4000, 7777])
        kv_lens = [kv] * batch if trial % 5 else [rng.choice([kv, 100]) for _ in range(batch)]
        hk = rng.choice([1, 2, 4])
        hq = hk * rng.choice([1, 4])
        slots = rng.choice([7, 23, 40, 132])
        plans = []
        for planner in (prefill_plan_lib, None):
            with monkeypatch.context() as m:
                m.setattr(P, "choose_tile_m", lambda *a: 0)  # the 192-row tile whatever the lengths
                plans.append(_plan(m, q_lens, kv_lens, hq, hk, slots=slots, planner=planner))
        a, b = plans
        assert a.split == b.split and a.num_ctas == b.num_ctas
        for x, y in ((a.work, b.work), (a.qo_indptr, b.qo_indptr), (a.kv_indptr, b.kv_indptr)):
            assert x.dtype == y.dtype == torch.int32 and torch.equal(x, y)
        assert a.part.shape == b.part.shape and a.count.shape == b.count.shape
        seen += a.split is not None
    assert seen >= 5


@pytest.mark.parametrize("planner_name", ["python", "compiled"])
def test_plan_split_rules(monkeypatch, request, planner_name):
    lib = request.getfixturevalue("prefill_plan_lib") if planner_name == "compiled" else None
    monkeypatch.delenv(P.SPLIT_ENV, raising=False)
    # causal: never
    _no_split(_plan(monkeypatch, [16384], [16384], causal=True, planner=lib))
    # hd64 non-causal has a 192-row tile but no split_kv; hd256 neither
    _no_split(_plan(monkeypatch, [16384], [16384], hq=32, hk=32, hd=64, planner=lib), 64)
    _no_split(_plan(monkeypatch, [16384], [16384], hq=8, hk=8, hd=256, planner=lib), 256)
    # hd128's short-request tile (128 rows: 4 x 4k) has no split_kv
    p = _plan(monkeypatch, [4096] * 4, [4096] * 4, planner=lib)
    assert p.spec.tile_m == 128
    _no_split(p)
    # t == 0 (86 slots divide 1376 rows), P < 2 (100 slots: 76 left)
    _no_split(_plan(monkeypatch, [16384], [16384], slots=86, planner=lib))
    _no_split(_plan(monkeypatch, [16384], [16384], slots=100, planner=lib))
    # rows of unequal cost (two kv lengths among the requests with queries): none; a request without queries may differ
    with monkeypatch.context() as m:
        m.setattr(P, "choose_tile_m", lambda *a: 0)
        _no_split(_plan(m, [3000, 5000], [7777, 7000], planner=lib))
        p = _plan(m, [3000, 5000, 0], [7777, 7777, 5], slots=40, planner=lib)
        assert p.split is not None
        p = _plan(m, [3000], [7777], hq=4, hk=1, slots=48, planner=lib)  # q 3000, kv 7777, GQA 4: 64 rows
        assert p.split == (16, 3) and p.part.shape == (16 * 3 * 192, 129) and p.count.shape == (64,)
        _no_split(_plan(m, [3000], [7777], hq=4, hk=1, slots=40, planner=lib))  # 40 // 24 = 1 piece
    # the switch
    monkeypatch.setenv(P.SPLIT_ENV, "0")
    _no_split(_plan(monkeypatch, [16384], [16384], planner=lib))
    monkeypatch.setenv(P.SPLIT_ENV, "1")
    assert _plan(monkeypatch, [16384], [16384], planner=lib).split == (56, 2)
    for bad in ("2", "", "on", "true"):
        monkeypatch.setenv(P.SPLIT_ENV, bad)
        for causal in (False, True):
            with pytest.raises(ValueError, match="CUTE_ATTN_PREFILL_SPLIT"):
                _plan(monkeypatch, [16384], [16384], causal=causal, planner=lib)
    monkeypatch.delenv(P.SPLIT_ENV)
    # a CPU plan (one slot per row) is never split, and its work is the one the switch-off plan has
    cpu = _plan(monkeypatch, [16384], [16384], slots=None, planner=lib)
    _no_split(cpu)
    monkeypatch.setenv(P.SPLIT_ENV, "0")
    assert torch.equal(cpu.work, _plan(monkeypatch, [16384], [16384], slots=None, planner=lib).work)


def test_prefill_function_plan_on_cpu_unchanged(monkeypatch):
    """cute_attn.prefill's plan on a CPU tensor (one slot per row): no split, the shared dummy buffers."""
    monkeypatch.delenv(P.SPLIT_ENV, raising=False)
    plan = P._make_plan([0, 16384], [0, 16384], 16, 16, 128, 128, False, None, torch.bfloat16, torch.device("cpu"))
    _no_split(plan)
    other = P._make_plan([0, 100], [0, 300], 2, 2, 128, 128, False, None, torch.float16, torch.device("cpu"))
    assert other.part is plan.part and other.count is plan.count


def test_run_passes_part_and_count(monkeypatch):
    """_run hands the dense kernel (q, k, v, out, lse, qo_indptr, kv_indptr, work, part, count, num_ctas, sm_scale)
    (CPU tensors, the device check and the kernel stubbed)."""
    monkeypatch.setattr(P.C, "cuda_device", lambda **kw: None)
    monkeypatch.setattr(torch.cuda, "device", lambda device: contextlib.nullcontext())
    seen = []
    monkeypatch.setattr(P, "get_kernel", lambda spec: lambda *args: seen.append(args))
    with monkeypatch.context() as m:
        m.setattr(P, "choose_tile_m", lambda *a: 0)
        plan = _plan(m, [1000], [1000], hq=4, hk=4, slots=23)
    assert plan.split is not None
    q, k, v = torch.randn(1000, 4, 128).bfloat16(), torch.randn(1000, 4, 128).bfloat16(), torch.randn(1000, 4, 128).bfloat16()
    P._run(plan, q, k, v, None, False)
    a = seen[0]
    assert len(a) == 12 and a[7] is plan.work and a[8] is plan.part and a[9] is plan.count
    assert a[10] == plan.num_ctas and a[11] == plan.sm_scale


def _paged_plan(monkeypatch, n, slots, heads=4, ps=16, causal=False):
    monkeypatch.setattr(P, "_plan_slots", lambda device: slots)
    pages = -(-n // ps)
    w = cute_attn.BatchPrefillWithPagedKVCacheWrapper(device="cpu")
    w.plan([0, n], torch.tensor([0, pages], dtype=torch.int32), torch.arange(pages, dtype=torch.int32),
           torch.tensor([(n - 1) % ps + 1], dtype=torch.int32), heads, heads, 128, ps, causal=causal)
    return w, pages


def test_paged_plan_splits_as_the_dense_plan(monkeypatch, planner):
    """Since session 18 the paged kernel runs hd128 non-causal's 192 x 80 row with its split_kv: the paged plan (one kv
    length, a GPU's slots) splits its last round exactly as the dense plan of the same lengths (the same work rows;
    either planner: the compiled one moves three indptr arrays behind the longer work), and run_paged hands the kernel
    part / count after the work (14 arguments)."""
    monkeypatch.delenv(P.SPLIT_ENV, raising=False)
    monkeypatch.setattr(P, "_PLAN_LIB", [planner])
    monkeypatch.setattr(P, "PLAN_FALLBACK_REASON", [None if planner else "test"])
    w, pages = _paged_plan(monkeypatch, 16384, 132, heads=16)
    plan = w._plan
    dense = _plan(monkeypatch, [16384], [16384])
    assert plan.spec.tile_m == 0 and plan.split == dense.split == (56, 2)
    assert torch.equal(plan.work, dense.work) and plan.num_ctas == dense.num_ctas == 132
    assert plan.cu_seqlens_k.tolist() == [0, 16384] and plan.kv_indptr.tolist() == [0, pages]
    assert plan.part.shape == dense.part.shape and plan.count.shape == dense.count.shape and not plan.count.any()
    with monkeypatch.context() as m:  # forced onto the 192-row tile, a 1000-row request on 23 slots splits too
        m.setattr(P, "choose_tile_m", lambda *a: 0)
        w, pages = _paged_plan(m, 1000, 23)
        dense = _plan(m, [1000], [1000], hq=4, hk=4, slots=23)
    plan = w._plan
    assert plan.split is not None and plan.split == dense.split and torch.equal(plan.work, dense.work)
    monkeypatch.setattr(PP.C, "cuda_device", lambda **kw: None)
    monkeypatch.setattr(torch.cuda, "device", lambda device: contextlib.nullcontext())
    seen = []
    monkeypatch.setattr(PP, "get_kernel", lambda spec: lambda *args: seen.append(args))
    cache = torch.zeros(pages, 2, 16, 4, 128, dtype=torch.bfloat16)
    w.run(torch.zeros(1000, 4, 128, dtype=torch.bfloat16), cache)
    a = seen[0]
    assert len(a) == 14 and a[9] is plan.work and a[10] is plan.part and a[11] is plan.count
    assert a[12] == plan.num_ctas and a[13] == plan.sm_scale


def test_paged_plan_split_rules(monkeypatch):
    """No split for a causal plan, the 128-row short variant (the plan's choice for a 1000-row request), or with
    CUTE_ATTN_PREFILL_SPLIT=0; the kernel then gets the shared 1-row part / 4-entry count."""
    monkeypatch.delenv(P.SPLIT_ENV, raising=False)
    for kw in ({"causal": True}, {}):
        plan = _paged_plan(monkeypatch, 1000, 23, **kw)[0]._plan
        assert plan.split is None and plan.part.shape == (1, 129) and plan.count.shape == (4,)
        _, body = P.split_work(plan.work, plan.num_ctas)
        assert not body[:, 3].any()
    assert _paged_plan(monkeypatch, 1000, 23)[0]._plan.spec.tile_m == 128
    monkeypatch.setenv(P.SPLIT_ENV, "0")
    assert _paged_plan(monkeypatch, 16384, 132, heads=16)[0]._plan.split is None


# ------------------------------------------------------------------------------------ the merge contract


def _emulate(plan, q, k, v, qo, kv, scale, tile_m, tile_n):
    """The kernel's contract in torch (float64): each work row of each slot in turn; a whole tile writes its rows'
    O and LSE; piece p of P writes its normalized O over key blocks split_blocks(nb, p, P) and that LSE to ``part``
    rows ``[(g * P + p) * tile_m, +tile_m)`` (LSE in the last column); once a group's P pieces are in, the merge
    ``O = sum_i exp(lse_i - lse) O_i``, ``lse = logsumexp(lse_i)`` writes the tile's rows."""
    hq, hk = q.shape[1], k.shape[1]
    dv = v.shape[2]
    out = torch.full((q.shape[0], hq, dv), float("nan"), dtype=torch.float64)
    lse = torch.full((q.shape[0], hq), float("nan"), dtype=torch.float64)
    G, Pc = plan.split or (0, 0)
    part = torch.full((max(1, G * Pc * tile_m), dv + 1), float("nan"), dtype=torch.float64)
    count = [0] * max(1, G)
    table, _ = P.split_work(plan.work, plan.num_ctas)
    order = []  # slots round-robin, one row at a time: pieces of a group finish in different orders per group
    pos = list(table[:-1])
    while any(pos[s] < table[s + 1] for s in range(plan.num_ctas)):
        for s in range(plan.num_ctas):
            if pos[s] < table[s + 1]:
                order.append(pos[s])
                pos[s] += 1
    for i in order:
        b, m, h, word = plan.work[i].tolist()
        q0, q1 = qo[b] + m * tile_m, min(qo[b] + (m + 1) * tile_m, qo[b + 1])
        kh = h // (hq // hk)
        kb, kl = kv[b], kv[b + 1] - kv[b]
        g, p, pcs = P.split_fields(word)
        lo, hi = (0, kl) if pcs == 0 else (x * tile_n for x in P.split_blocks(-(-kl // tile_n), p, pcs))
        hi = min(hi, kl)
        o_i, l_i = R.attention(q[q0:q1, h:h + 1], k[kb + lo:kb + hi, kh:kh + 1], v[kb + lo:kb + hi, kh:kh + 1],
                               False, scale)
        if pcs == 0:
            out[q0:q1, h], lse[q0:q1, h] = o_i[:, 0], l_i[:, 0]
            continue
        r0 = (g * pcs + p) * tile_m
        part[r0:r0 + q1 - q0, :dv], part[r0:r0 + q1 - q0, dv] = o_i[:, 0], l_i[:, 0]
        count[g] += 1
        if count[g] == pcs:  # the last finisher merges
            rows = part[g * pcs * tile_m:(g + 1) * pcs * tile_m].view(pcs, tile_m, dv + 1)[:, :q1 - q0]
            ls = rows[..., dv]
            m_l = torch.logsumexp(ls, 0)
            out[q0:q1, h] = (torch.exp(ls - m_l)[..., None] * rows[..., :dv]).sum(0)
            lse[q0:q1, h] = m_l
            count[g] = 0
    assert all(c == 0 for c in count)
    return out, lse


@pytest.mark.parametrize("q_lens,kv_len,hq,hk,slots", [([1000], 7777, 4, 4, 23), ([1000], 1000, 4, 2, 20),
                                                        ([300, 700, 0, 450], 2000, 2, 1, 8), ([500], 81, 2, 2, 5)])
def test_merge_contract_matches_reference(monkeypatch, q_lens, kv_len, hq, hk, slots):
    monkeypatch.delenv(P.SPLIT_ENV, raising=False)
    monkeypatch.setattr(P, "choose_tile_m", lambda *a: 0)
    plan = _plan(monkeypatch, q_lens, [kv_len] * len(q_lens), hq, hk, slots=slots)
    assert plan.split is not None
    tile_m, tile_n = P._split_tile(128, 128, False, plan.spec.tile_m)
    assert (tile_m, tile_n) == (192, 80)
    gen = torch.Generator().manual_seed(7)
    qo = [0]
    for n in q_lens:
        qo.append(qo[-1] + n)
    kv = [kv_len * b for b in range(len(q_lens) + 1)]
    q = torch.randn(qo[-1], hq, 128, generator=gen, dtype=torch.float64)
    k = torch.randn(kv[-1], hk, 128, generator=gen, dtype=torch.float64)
    v = torch.randn(kv[-1], hk, 128, generator=gen, dtype=torch.float64)
    scale = 1 / math.sqrt(128)
    o, lse = _emulate(plan, q, k, v, qo, kv, scale, tile_m, tile_n)
    ref_o, ref_l = R.ragged_attention(q, k, v, qo, kv, False, scale)
    assert not torch.isnan(o).any() and not torch.isnan(lse).any()
    torch.testing.assert_close(o, ref_o, atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(lse, ref_l, atol=1e-10, rtol=1e-10)


def test_prefill_cache_bounds_split_scratch(monkeypatch):
    """cute_attn.prefill's plan cache drops its least recently used plans beyond _PLAN_CACHE_SIZE plans or beyond
    _PLAN_CACHE_SPLIT_BYTES of split scratch, keeps the newest whatever its size, and counts the bytes back down."""
    monkeypatch.setattr(P, "_PLAN_CACHE", collections.OrderedDict())
    monkeypatch.setattr(P, "_PLAN_CACHE_SIZE", 4)
    monkeypatch.setattr(P, "_PLAN_CACHE_SPLIT_BYTES", 1000)

    def fake(rows, split=True):
        return types.SimpleNamespace(split=(1, 2) if split else None, part=torch.empty(rows, 1),
                                     count=torch.zeros(4, dtype=torch.int32))

    for i in range(3):  # 3 x (100 * 4 + 16) = 1248 > 1000: the first goes
        P._cache_plan(("a", i), fake(100))
    assert list(P._PLAN_CACHE) == [("a", 1), ("a", 2)] and P._cached_split_bytes() == 832
    for i in range(5):  # plans without a split cost no bytes; the count bound applies
        P._cache_plan(("b", i), fake(100, split=False))
    assert list(P._PLAN_CACHE) == [("b", 1), ("b", 2), ("b", 3), ("b", 4)] and P._cached_split_bytes() == 0
    P._cache_plan(("big", 0), fake(1000))  # alone above the bound: kept, the others dropped
    assert list(P._PLAN_CACHE) == [("big", 0)] and P._cached_split_bytes() == 4016
    P._cache_plan(("c", 0), fake(10))
    assert list(P._PLAN_CACHE) == [("c", 0)] and P._cached_split_bytes() == 56
