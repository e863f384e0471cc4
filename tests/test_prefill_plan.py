"""Prefill host side: the tile schedule and input validation (CPU tensors, no GPU)."""

import dataclasses

import pytest
import torch

import cute_attn
from cute_attn import DeviceError
from cute_attn.kernels.common.config import prefill_config
import importlib

from cute_attn.prefill import choose_tile_m, make_work_list, schedule_work, split_work

P = importlib.import_module("cute_attn.prefill")


@pytest.mark.parametrize("causal", [False, True])
def test_work_list_covers_every_tile_once_heaviest_first(causal):
    q_lens, kv_lens, heads, tile_m = [300, 0, 1, 129, 128], [300, 50, 7, 1000, 0], 3, 128
    work = make_work_list(q_lens, kv_lens, heads, tile_m, causal)
    assert work.dtype == torch.int32 and work.shape[1] == 4
    expected = {(b, m, h) for b, ql in enumerate(q_lens) for m in range(-(-ql // tile_m)) for h in range(heads)}
    got = [tuple(r[:3]) for r in work.tolist()]
    assert len(got) == len(expected) and set(got) == expected

    def cost(b, m):
        ql, kl = q_lens[b], kv_lens[b]
        if not causal:
            return kl
        return max(0, min(kl, min((m + 1) * tile_m, ql) + kl - ql))

    costs = [cost(b, m) for b, m, _ in got]
    assert costs == sorted(costs, reverse=True)
    if causal:  # the last m-block of a causal request is its heaviest
        assert got[0][:2] == (3, 1)


def test_work_list_sections_keep_kv_in_l2():
    """Small requests: tiles grouped by (request, kv head) into sections whose K/V fit the budget, each
    section heaviest first; the large request's tiles come first, by cost alone."""
    q_lens = [1000] + [100] * 8
    kv_lens = [1000] + [100] * 8
    hq, hk, tile_m, row_bytes, budget = 4, 2, 64, 100, 80_000  # unit = kv_len * 100 bytes; small < 20 KB
    work = make_work_list(q_lens, kv_lens, hq, tile_m, True, hk, row_bytes, budget, 20_000).tolist()
    big = [r for r in work if r[0] == 0]
    assert work[: len(big)] == big  # request 0 (100 KB per kv head) first
    rest = work[len(big):]
    # 10 KB per (request, kv head) and an 80 KB budget: requests 1-4 form one section, 5-8 the next,
    # each heaviest first (m-block 1 of every pair, then m-block 0)
    first, second = rest[:32], rest[32:]
    assert {r[0] for r in first} == {1, 2, 3, 4} and {r[0] for r in second} == {5, 6, 7, 8}
    for sec in (first, second):
        costs = [min(100, (m + 1) * tile_m) for _, m, _, _ in sec]
        assert costs == sorted(costs, reverse=True)


@pytest.mark.parametrize(
    "q_lens,expected",
    [
        ([16384], 0), ([4096] * 4, 0), ([2048], 0),  # long: the table's 192-row tile
        ([1024] * 16, 128), ([1], 128), ([113, 17], 128), ([0, 0], 0),  # short: 128-row tile
    ],
)
def test_short_tile_choice_hd64_causal(q_lens, expected):
    assert prefill_config(64, 64, True).tile_m == 192
    assert prefill_config(64, 64, True, 128).tile_m == 128 and prefill_config(64, 64, True, 128).consumer_wgs == 2
    assert choose_tile_m(q_lens, 64, 64, True) == expected
    # no short variant for hd64 non-causal, hd256, hd192
    assert choose_tile_m(q_lens, 64, 64, False) == 0 and choose_tile_m(q_lens, 256, 256, True) == 0
    assert choose_tile_m(q_lens, 192, 128, False) == 0


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize(
    "q_lens,expected",
    [
        ([16384], 0), ([8192], 0), ([16384, 16384], 0),  # long: the table's 192 x 80 tile (3 consumer warpgroups)
        ([4096] * 4, 128), ([1024] * 16, 128), ([2048] * 8, 128), ([1], 128), ([0, 0], 0),
        ([8192, 4096, 2048, 1024, 512, 512, 256, 128, 3000, 17, 1, 700], 128),  # bench.prefill's ragged batch
    ],
)
def test_short_tile_choice_hd128(q_lens, expected, causal):
    long, short = prefill_config(128, 128, causal), prefill_config(128, 128, causal, 128)
    assert (long.tile_m, long.tile_n, long.consumer_wgs) == (192, 80, 3)
    assert (short.tile_m, short.tile_n, short.consumer_wgs, short.double_p) == (128, 128, 2, True)
    # the paged kernel has both tiles too (session 18, PAGED_DENSE_ROWS / PAGED_SHORT_TILE): 192 x 80 for long
    # requests (page boxes of 16 rows), the 128 x 128 short variant (boxes of 64 rows too)
    assert prefill_config(128, 128, causal, paged=True).tile_n == 80
    assert prefill_config(128, 128, causal, 128, paged=True).tile_n == 128
    assert choose_tile_m(q_lens, 128, 128, causal) == expected


def test_work_list_empty_batch():
    assert make_work_list([0, 0], [5, 0], 4, 128, True).shape == (0, 4)


def qkv(s=16, hq=4, hk=4, d=128, dv=None, dtype=torch.bfloat16):
    return (torch.randn(s, hq, d).to(dtype), torch.randn(s, hk, d).to(dtype), torch.randn(s, hk, dv or d).to(dtype))


@pytest.mark.parametrize(
    "args,kwargs,exc,match",
    [
        (qkv(dtype=torch.float32), {}, TypeError, "q must have dtype"),
        (qkv(d=96), {}, ValueError, r"\(head_dim, head_dim_v\)"),
        (qkv(d=192, dv=192), {}, ValueError, r"\(head_dim, head_dim_v\)"),
        (qkv(hq=6, hk=4), {}, ValueError, "multiple of num_kv_heads"),
        ((qkv()[0], qkv()[1], qkv(s=15)[2]), {}, ValueError, "must agree in kv_len"),
        ((qkv()[0], qkv(d=64)[1], qkv()[2]), {}, ValueError, "k head_dim"),
        ((torch.randn(16, 128, 4).bfloat16().transpose(1, 2), qkv()[1], qkv()[2]), {}, ValueError, "q must have a contiguous last dim"),
        ((torch.randn(16, 4, 136).bfloat16()[..., 4:132], qkv()[1], qkv()[2]), {}, ValueError, "q must start at a 16-byte"),
        (qkv(), {"out": torch.empty(16, 4, 64, dtype=torch.bfloat16)}, ValueError, "out must have shape"),
        (qkv(), {"out": torch.empty(16, 4, 128, dtype=torch.float16)}, TypeError, "out has dtype"),
    ],
)
def test_prefill_validation(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        cute_attn.prefill(*args, **kwargs)


def test_prefill_mixed_dtypes_rejected():
    q, k, v = qkv()
    with pytest.raises(TypeError, match="k has dtype"):
        cute_attn.prefill(q, k.half(), v)


def test_valid_prefill_reaches_device_check():
    with pytest.raises(DeviceError):
        cute_attn.prefill(*qkv(), causal=True)


def test_wrapper_plan_validation():
    w = cute_attn.BatchPrefillWithRaggedKVCacheWrapper(device="cpu")
    with pytest.raises(RuntimeError, match="plan"):
        w.run(*qkv())
    with pytest.raises(ValueError, match="non-decreasing"):
        w.plan([0, 5, 3], [0, 5, 9], 4, 4, 128)
    with pytest.raises(ValueError, match=r"qo_indptr\[0\]"):
        w.plan([1, 5], [0, 5], 4, 4, 128)
    with pytest.raises(ValueError, match="entries"):
        w.plan([0, 5], [0, 5, 6], 4, 4, 128)
    with pytest.raises(TypeError, match="int32"):
        w.plan(torch.tensor([0, 5]), [0, 5], 4, 4, 128)
    with pytest.raises(TypeError, match="q_data_type"):
        w.plan([0, 5], [0, 5], 4, 4, 128, q_data_type=torch.float32)
    w.plan([0, 5, 16], [0, 9, 16], 4, 2, 128, causal=True)
    q, k, v = qkv(hk=2)
    with pytest.raises(ValueError, match="q must have shape"):
        w.run(q[:15], k, v)
    with pytest.raises(TypeError, match="plan was made for bf16"):
        w.run(q.half(), k.half(), v.half())
    with pytest.raises(DeviceError):
        w.run(q, k, v)


def test_hd256_causal_tile():
    # prefill-v5: the dense hd256 causal kernel runs 128 x 64 (non-causal keeps 128 x 80); the paged kernel takes that
    # row too since session 18 (PAGED_DENSE_ROWS), with page 64's one-box blocks
    from cute_attn.specs import PrefillPagedSpec

    assert prefill_config(256, 256, True).tile_n == 64
    assert prefill_config(256, 256, True, paged=True) == dataclasses.replace(
        prefill_config(256, 256, True), tma_store_o=False, trim_diagonal=0)
    assert prefill_config(256, 256, False).tile_n == prefill_config(256, 256, False, paged=True).tile_n == 80
    assert PrefillPagedSpec(dtype="bf16", head_dim=256, head_dim_v=256, causal=True).tile_n == 64
    assert PrefillPagedSpec(dtype="bf16", head_dim=256, head_dim_v=256, causal=True, tma_box_rows=64).tile_n == 64


def test_q_in_registers_only_for_dense_hd64_causal():
    # session 7: Q in registers for S = Q K^T on the two hd64 causal tiles of the dense kernel, and (session 17) the
    # paged kernel's hd64 causal variants, which take the dense row in full (PAGED_DENSE_ROWS); hd64 non-causal (3
    # warpgroups, spills) and the other head dims keep Q in shared memory, dense and paged
    assert prefill_config(64, 64, True).q_rs and prefill_config(64, 64, True, tile_m=128).q_rs
    assert prefill_config(64, 64, True, paged=True).q_rs and prefill_config(64, 64, True, paged=True, gather=True).q_rs
    assert not prefill_config(64, 64, False, paged=True).q_rs
    assert not prefill_config(64, 64, False).q_rs
    for hd, hdv in ((128, 128), (256, 256), (192, 128)):
        for causal in (False, True):
            assert not prefill_config(hd, hdv, causal).q_rs, (hd, causal)


# ------------------------------------------------------------------ audit (session 5): inputs that used to pass


@pytest.mark.parametrize(
    "args,kwargs,exc,match",
    [
        (([0, 5], [0, 5], 4, 4, 128), {"sm_scale": float("nan")}, ValueError, "sm_scale must be finite"),
        (([0, 5], [0, 5], 4, 4, 128), {"sm_scale": float("inf")}, ValueError, "sm_scale must be finite"),
        # the kernels stabilize exp by the running max of the raw scores: a scale <= 0 would overflow it
        (([0, 5], [0, 5], 4, 4, 128), {"sm_scale": -0.125}, ValueError, "sm_scale must be finite and positive"),
        (([0, 5], [0, 5], 4, 4, 128), {"sm_scale": 0.0}, ValueError, "sm_scale must be finite and positive"),
        (([0, 5], [0, 5], True, True, 128), {}, ValueError, "num_qo_heads must be a positive int"),
        (([0, 5.7], [0, 5], 4, 4, 128), {}, TypeError, r"qo_indptr\[1\] must be an int"),  # was truncated to 5
        (([0, 5], [[0, 5]], 4, 4, 128), {}, TypeError, r"kv_indptr\[0\] must be an int"),
    ],
)
def test_wrapper_plan_rejects_bad_scalars_and_lists(args, kwargs, exc, match):
    w = cute_attn.BatchPrefillWithRaggedKVCacheWrapper(device="cpu")
    with pytest.raises(exc, match=match):
        w.plan(*args, **kwargs)


def test_prefill_rejects_nan_scale_and_overlapping_out():
    with pytest.raises(ValueError, match="sm_scale must be finite"):
        cute_attn.prefill(*qkv(), sm_scale=float("nan"))
    out = torch.empty(1, 4, 128, dtype=torch.bfloat16).expand(16, 4, 128)  # every row the same memory
    with pytest.raises(ValueError, match="out has stride 0 in dim 0"):
        cute_attn.prefill(*qkv(), out=out)
    w = cute_attn.BatchPrefillWithRaggedKVCacheWrapper(device="cpu")
    w.plan([0, 16], [0, 16], 4, 4, 128)
    with pytest.raises(ValueError, match="out has stride 0 in dim 1"):
        w.run(*qkv(), out=torch.empty(16, 1, 128, dtype=torch.bfloat16).expand(16, 4, 128))


def test_plan_for_cuda_without_cuda_is_a_device_error(monkeypatch):
    """The default wrapper plans for "cuda": on a machine without one, plan() raises DeviceError (it raised
    torch's AssertionError "Torch not compiled with CUDA enabled")."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(DeviceError, match="device='cpu'"):
        cute_attn.BatchPrefillWithRaggedKVCacheWrapper().plan([0, 5], [0, 5], 4, 4, 128)
    with pytest.raises(DeviceError):
        cute_attn.prefill(*qkv(s=7))  # prefill() plans for q's device first


@pytest.mark.parametrize("causal", [False, True])
def test_no_key_in_the_batch_gives_zeros_and_minus_inf_without_a_launch(monkeypatch, causal):
    """total_kv == 0: the API answers (output 0, LSE -inf) without launching the kernel, whose TMA descriptors
    cannot describe an empty K/V (CPU tensors, the device check and the kernel stubbed)."""
    import importlib

    P = importlib.import_module("cute_attn.prefill")
    monkeypatch.setattr(P.C, "cuda_device", lambda **kw: None)
    monkeypatch.setattr(P, "get_kernel", lambda spec: pytest.fail("launched a kernel on an empty K/V"))
    q, k, v = torch.randn(5, 4, 128).bfloat16(), torch.zeros(0, 2, 128).bfloat16(), torch.zeros(0, 2, 128).bfloat16()
    out, lse = cute_attn.prefill(q, k, v, causal=causal, return_lse=True)
    assert out.shape == (5, 4, 128) and torch.all(out == 0)
    assert lse.shape == (5, 4) and torch.all(torch.isneginf(lse))
    w = cute_attn.BatchPrefillWithRaggedKVCacheWrapper(device="cpu")
    w.plan([0, 3, 3, 7], [0, 0, 0, 0], 4, 2, 128, causal=causal)
    out, lse = w.run(torch.randn(7, 4, 128).bfloat16(), k, v, return_lse=True)
    assert torch.all(out == 0) and torch.all(torch.isneginf(lse))


def test_size_one_dims_reach_the_kernel_with_stride_zero(monkeypatch):
    """The kernel declares its strides as multiples of 8 elements; torch leaves the stride of a size-1 dim free, so
    a one-token q whose dim 0 has stride 3 is handed over as a view with stride 0 there (the same elements), as the
    paged and decode wrappers do (CPU tensors, the device check and the kernel stubbed)."""
    import contextlib
    import importlib

    P = importlib.import_module("cute_attn.prefill")
    monkeypatch.setattr(P.C, "cuda_device", lambda **kw: None)
    monkeypatch.setattr(torch.cuda, "device", lambda device: contextlib.nullcontext())
    seen = []
    monkeypatch.setattr(P, "get_kernel", lambda spec: lambda *args: seen.append(args))
    q = torch.randn(4 * 128).bfloat16().as_strided((1, 4, 128), (3, 128, 1))
    k, v = torch.randn(9, 4, 128).bfloat16(), torch.randn(9, 4, 128).bfloat16()
    cute_attn.prefill(q, k, v)
    q_arg, k_arg = seen[0][0], seen[0][1]
    assert q_arg.stride() == (0, 128, 1) and torch.equal(q_arg, q) and q_arg.data_ptr() == q.data_ptr()
    assert k_arg is k


def _slot_loads(work, n, costs_by_row):
    table, _ = split_work(work, n)
    return [sum(costs_by_row[tuple(r)] for r in work[table[s]:table[s + 1]].tolist()) for s in range(n)]


@pytest.mark.parametrize("q_lens,causal", [([4096] * 4, True), ([1024] * 16, True), ([16384], True),
                                           ([8192, 4096, 2048, 1024, 512, 512, 256, 128, 3000, 17, 1, 700], True),
                                           ([1000] * 3, False), ([5, 0, 300], True)])
@pytest.mark.parametrize("slots", [132, 7])
def test_schedule_work_table(q_lens, causal, slots):
    """The slot table covers every work row exactly once, in slot order, each slot non-empty; the chosen schedule's
    largest slot load (the cost model) is no larger than the serpentine deal's, which the kernel ran before."""
    rows, costs = make_work_list(q_lens, q_lens, 4, 128, causal, 2, 512, return_costs=True)
    work, n, how = schedule_work(rows, costs, slots)
    assert n == min(slots, len(costs)) and work.dtype == torch.int32 and work.shape[1] == 4
    table, body = split_work(work, n)
    head = (n + 4) // 4
    assert table[0] == head and table[-1] == work.shape[0] and len(body) == len(costs)
    assert all(a < b for a, b in zip(table, table[1:]))  # every slot runs at least one row
    assert sorted(map(tuple, body.tolist())) == sorted(map(tuple, rows.tolist()))
    cost_of = {tuple(r): c + P.TILE_OVERHEAD_KEYS for r, c in zip(rows.tolist(), costs)}
    loads = _slot_loads(work, n, cost_of)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CUTE_ATTN_PREFILL_SCHEDULE", "serpentine")
        w_serp, n_serp, how_serp = schedule_work(rows, costs, slots)
    assert how_serp == "serpentine" and n_serp == n
    assert max(loads) <= max(_slot_loads(w_serp, n, cost_of))
    # the serpentine table: slot c takes rows c, 2n - 1 - c, 2n + c, ... of the order
    t, b = split_work(w_serp, n)
    order = [tuple(r) for r in rows.tolist()]
    for c in range(n):
        want = [order[i] for i in range(len(order)) if (i // n) % 2 == 0 and i % n == c
                or (i // n) % 2 == 1 and n - 1 - i % n == c]
        assert [tuple(r) for r in w_serp[t[c]:t[c + 1]].tolist()] == want
    assert how == "serpentine" or how.startswith("list+")


def test_schedule_work_list_beats_serpentine_on_ragged_causal():
    """A ragged causal batch, where the serpentine deal leaves SMs idle (cost model: 1.08x the bound) and the list
    schedule comes within 2 % of the bound."""
    q_lens = [8192, 4096, 2048, 1024, 512, 512, 256, 128, 3000, 17, 1, 700]
    rows, costs = make_work_list(q_lens, q_lens, 16, 128, True, 16, 512, return_costs=True)
    work, n, how = schedule_work(rows, costs, 132)
    cost_of = {tuple(r): c + P.TILE_OVERHEAD_KEYS for r, c in zip(rows.tolist(), costs)}
    bound = max(sum(cost_of.values()) / n, max(cost_of.values()))
    assert how.startswith("list+") and max(_slot_loads(work, n, cost_of)) <= 1.02 * bound
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CUTE_ATTN_PREFILL_SCHEDULE", "serpentine")
        w_serp, _, _ = schedule_work(rows, costs, 132)
    assert max(_slot_loads(w_serp, n, cost_of)) > 1.05 * bound


def test_schedule_work_empty_and_bad_switch(monkeypatch):
    rows, costs = make_work_list([0, 0], [5, 0], 4, 128, True, return_costs=True)
    work, n, how = schedule_work(rows, costs, 132)
    assert work.shape == (0, 4) and n == 0 and how == "empty"
    monkeypatch.setenv("CUTE_ATTN_PREFILL_SCHEDULE", "dynamic")
    rows, costs = make_work_list([300], [300], 4, 128, True, return_costs=True)
    with pytest.raises(ValueError, match="CUTE_ATTN_PREFILL_SCHEDULE"):
        schedule_work(rows, costs, 132)


@pytest.fixture
def schedule_lib(prefill_plan_lib):
    """The compiled list schedule (conftest's ``prefill_plan_lib``)."""
    return prefill_plan_lib


def test_compiled_list_schedule_equals_python(schedule_lib):
    """Same order, slots and makespan as the Python loop, on random costs (with many ties) and tails."""
    import numpy as np

    rng = np.random.default_rng(7)
    for trial in range(200):
        n, slots = int(rng.integers(0, 2500)), int(rng.integers(1, 140))
        hi = 4 if trial % 3 == 0 else 20000  # few distinct costs: ties everywhere
        costs = rng.integers(1, hi, size=n).astype(np.int64) * (128 if hi == 4 else 1)
        tail = int(rng.integers(0, n + 5)) if n else 0
        a = P._list_schedule(costs, slots, tail, None)
        b = P._list_schedule(costs, slots, tail, schedule_lib)
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2], (trial, n, slots, tail)
    with pytest.raises(RuntimeError, match="prefill_list_schedule failed"):
        P._list_schedule(np.ones(3, np.int64), 0, 0, schedule_lib)


def _reference_work_list(q_lens, kv_lens, num_qo_heads, tile_m, causal, num_kv_heads, kv_row_bytes, section_bytes,
                         small_unit_bytes):
    """make_work_list as plain Python loops (its first form): the order and the costs."""
    hk = num_kv_heads or num_qo_heads
    group = num_qo_heads // hk
    big, sections, current, current_bytes = [], [], [], 0
    for b in sorted(range(len(q_lens)), key=lambda b: -(q_lens[b] * (kv_lens[b] + 1))):
        ql, kl = q_lens[b], kv_lens[b]
        if ql == 0:
            continue
        tiles = [(P._tile_cost(ql, kl, m, tile_m, causal), b, m) for m in range((ql + tile_m - 1) // tile_m)]
        for kvh in range(hk):
            unit = [(cost, b, m, h) for cost, b, m in tiles for h in range(kvh * group, (kvh + 1) * group)]
            if not kv_row_bytes or kl * kv_row_bytes >= small_unit_bytes:
                big += unit
                continue
            if current and current_bytes + kl * kv_row_bytes > section_bytes:
                sections.append(current)
                current, current_bytes = [], 0
            current += unit
            current_bytes += kl * kv_row_bytes
    if current:
        sections.append(current)
    order = []
    for section in [big] + sections:
        order += sorted(section, key=lambda t: -t[0])
    return [[b, m, h, 0] for _, b, m, h in order], [c for c, _, _, _ in order]


def test_work_list_equals_the_loop_reference():
    """The vectorized make_work_list gives the loops' order and costs on random ragged batches (GQA, empty requests,
    kv longer than q, big and small pairs, both masks)."""
    import random

    rng = random.Random(3)
    for trial in range(150):
        batch = rng.randint(1, 20)
        q_lens = [rng.choice([0, 1, 17, 128, 129, rng.randint(1, 5000)]) for _ in range(batch)]
        kv_lens = [q + rng.choice([0, 0, rng.randint(0, 3000)]) for q in q_lens]
        hk = rng.choice([1, 2, 4, 8])
        hq = hk * rng.choice([1, 2, 4])
        tile_m, causal = rng.choice([64, 128, 192]), rng.random() < 0.6
        row_bytes = rng.choice([0, 256, 512, 1024])
        section, small = rng.choice([(2 << 20, 4 << 20), (1 << 20, 1 << 40), (6 << 20, 2 << 20)])
        rows, costs = make_work_list(q_lens, kv_lens, hq, tile_m, causal, hk, row_bytes, section, small,
                                     return_costs=True)
        ref_rows, ref_costs = _reference_work_list(q_lens, kv_lens, hq, tile_m, causal, hk, row_bytes, section, small)
        assert rows.tolist() == ref_rows and costs == ref_costs, trial
        assert rows.dtype == torch.int32 and rows.shape == (len(ref_rows), 4)
