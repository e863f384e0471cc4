"""Paged prefill host side: page-table validation and the schedule (CPU tensors, no GPU)."""

import pytest
import torch

import cute_attn
from cute_attn import specs as S
from cute_attn.prefill import split_work

I32 = torch.int32


def table(kv_lens, page_size):
    pages = [(n + page_size - 1) // page_size for n in kv_lens]
    indptr = torch.tensor([0] + torch.tensor(pages).cumsum(0).tolist(), dtype=I32)
    indices = torch.randperm(sum(pages)).to(I32)
    last = torch.tensor([(n - 1) % page_size + 1 if n else 0 for n in kv_lens], dtype=I32)
    return indptr, indices, last


def planned(qo=(0, 5, 9), kv_lens=(40, 7), page_size=16, hq=8, hk=2, d=128, **kw):
    indptr, indices, last = table(kv_lens, max(page_size, 1))
    args = dict(qo_indptr=torch.tensor(qo, dtype=I32), kv_indptr=indptr, kv_indices=indices, kv_last_page_len=last,
                num_qo_heads=hq, num_kv_heads=hk, head_dim=d, page_size=page_size)
    args.update(kw)
    w = cute_attn.BatchPrefillWithPagedKVCacheWrapper(device="cpu")
    w.plan(**args)
    return w


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"kv_indptr": torch.tensor([0, 3, 2], dtype=I32)}, "kv_indptr must be non-decreasing"),
        ({"kv_indptr": torch.tensor([1, 3, 4], dtype=I32)}, r"kv_indptr\[0\] must be 0"),
        ({"qo_indptr": torch.tensor([0, 5, 4], dtype=I32)}, "qo_indptr must be non-decreasing"),
        ({"qo_indptr": torch.tensor([0, 5], dtype=I32)}, "qo_indptr has 2 entries"),
        ({"kv_last_page_len": torch.tensor([0, 7], dtype=I32)}, r"kv_last_page_len\[0\]=0 must lie in \[1, page_size=16\]"),
        ({"kv_last_page_len": torch.tensor([8, 17], dtype=I32)}, r"kv_last_page_len\[1\]=17"),
        ({"kv_last_page_len": torch.tensor([8], dtype=I32)}, "kv_last_page_len must have length 2"),
        ({"kv_indices": torch.tensor([0, -1, 2, 3], dtype=I32)}, "kv_indices must be non-negative"),
        ({"kv_indices": torch.tensor([0, 1], dtype=I32)}, "exceeds len"),
        ({"num_qo_heads": 6, "num_kv_heads": 4}, "multiple of num_kv_heads"),
        ({"head_dim": 192, "head_dim_vo": 128}, r"\(head_dim, head_dim_vo\)"),
        ({"head_dim": 96}, r"\(head_dim, head_dim_vo\)"),
        ({"page_size": 0}, "page_size must be a positive int"),
        ({"sm_scale": -0.1}, "sm_scale must be finite and positive"),
        ({"sm_scale": 0.0}, "sm_scale must be finite and positive"),
    ],
)
def test_plan_rejects_bad_tables(kw, match):
    with pytest.raises(ValueError, match=match):
        planned(**kw)


def test_plan_rejects_bad_dtype_and_layout():
    with pytest.raises(TypeError, match="q_data_type"):
        planned(q_data_type=torch.float32)
    with pytest.raises(ValueError, match="kv_layout"):
        cute_attn.BatchPrefillWithPagedKVCacheWrapper(kv_layout="NDH")


def test_plan_schedule_and_lengths():
    w = planned(qo=(0, 300, 301, 301), kv_lens=(1000, 17, 0), page_size=16, causal=True)
    p = w._plan
    assert p.cu_seqlens_k.tolist() == [0, 1000, 1017, 1017]
    assert p.kv_indptr.tolist() == [0, 63, 65, 65]
    assert p.spec == S.PrefillPagedSpec(dtype="bf16", head_dim=128, head_dim_v=128, causal=True, tile_m=128,
                                        tma_box_rows=16)
    table, work = split_work(p.work, p.num_ctas)
    assert table[-1] == p.work.shape[0] and p.num_ctas == len(work)  # one CTA per tile (CPU plan)
    rows = {tuple(r[:3]) for r in work.tolist()}
    assert rows == {(b, m, h) for b, m in ((0, 0), (0, 1), (0, 2), (1, 0)) for h in range(8)}


def test_run_rejects_page_ids_past_the_cache_and_bad_caches():
    page_size, hk, d = 16, 2, 128
    w = planned(page_size=page_size, hk=hk)  # 4 pages used, ids 0..3
    q = torch.randn(9, 8, d).bfloat16()
    small = torch.zeros(3, page_size, hk, d, dtype=torch.bfloat16)
    with pytest.raises(ValueError, match=r"kv_indices must lie in \[0, num_pages=3\)"):
        w.run(q, (small, small))
    cache = torch.zeros(4, page_size, hk, d, dtype=torch.bfloat16)
    with pytest.raises(ValueError, match="expected"):
        w.run(q, (cache[:, :8], cache[:, :8]))
    with pytest.raises(ValueError, match="q must have shape"):
        w.run(q[:8], (cache, cache))
    strided = torch.zeros(4, page_size, hk, 2 * d, dtype=torch.bfloat16)[..., :d]
    with pytest.raises(ValueError, match="same strides"):
        w.run(q, (cache, strided))
    with pytest.raises(TypeError, match="plan was made for"):
        w.run(q.half(), (cache.half(), cache.half()))


def test_paged_specs_ship_and_round_trip():
    paged = [s for s in S.shipped_specs() if s.op == "prefill_paged"]
    for s in paged:
        assert s.tma_box_rows == 0 or s.tile_n % s.tma_box_rows == 0
    for box in (0, 16):  # (the table tiles; the short-request ones: test_specs.test_paged_short_tile_variants)
        assert (len([s for s in paged if s.tma_box_rows == box and not s.tile_m])
                == len(S.DTYPES) * len(S.PREFILL_PAGED_HEAD_DIMS) * 2)
    for s in paged:
        assert S.spec_from_fields(s.op, s.fields()) == s
    with pytest.raises(ValueError):
        S.PrefillPagedSpec(head_dim=192, head_dim_v=128)
    with pytest.raises(ValueError, match="tma_box_rows"):
        S.PrefillPagedSpec(tma_box_rows=8)
    with pytest.raises(ValueError, match="does not divide the key tile"):
        S.PrefillPagedSpec(head_dim=256, head_dim_v=256, tma_box_rows=64)


@pytest.mark.parametrize(
    "page_size, d, causal, box",
    [(1, 128, True, 0), (2, 128, True, 0), (3, 128, True, 0), (16, 128, True, 16), (48, 128, True, 16),
     (64, 128, True, 64), (128, 128, True, 64), (64, 256, False, 16), (256, 256, False, 16), (64, 256, True, 64),
     (256, 256, True, 64), (48, 256, True, 16)],
)
def test_plan_picks_the_load_path_from_the_page_size(page_size, d, causal, box):
    """TMA boxes inside one page where the page size is a multiple of a box that divides the key tile (hd128's
    short-request tile: 128 rows; hd256: 80 rows non-causal, so 16; 64 causal), cp.async gathers elsewhere; hd128's
    192 x 80 table tile (a long request) takes boxes of 16 rows at page 64."""
    w = planned(qo=(0, 256), kv_lens=(1000,), page_size=page_size, d=d, causal=causal)
    assert w._plan.spec.tma_box_rows == box
    if d == 128:  # (256 queries: 2 tiles of 128 rows, 1.02 x 256 < 384 in tiles of 192)
        assert w._plan.spec.tile_m == 128
        long = planned(qo=(0, 16384), kv_lens=(16384,), page_size=page_size, d=d, causal=causal)
        assert (long._plan.spec.tile_m, long._plan.spec.tma_box_rows) == (0, min(box, 16))


# ------------------------------------------------------------------ audit (session 5): inputs that used to pass


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"qo_indptr": [0, 5.5, 9]}, r"qo_indptr\[1\] must be an int"),  # int() truncated these silently
        ({"kv_last_page_len": [8.5, 7]}, r"kv_last_page_len\[0\] must be an int"),
        ({"kv_indices": [0.5, 1, 2, 3]}, r"kv_indices\[0\] must be an int"),
    ],
)
def test_plan_rejects_non_integer_list_entries(kw, match):
    with pytest.raises(TypeError, match=match):
        planned(**kw)


def test_plan_accepts_int_lists_like_tensors():
    a = planned(qo=(0, 5, 9), kv_lens=(40, 7))._plan
    indptr, indices, last = table((40, 7), 16)
    w = cute_attn.BatchPrefillWithPagedKVCacheWrapper(device="cpu")
    w.plan([0, 5, 9], indptr.tolist(), indices.tolist(), last.tolist(), 8, 2, 128, 16)
    b = w._plan
    assert torch.equal(a.work, b.work) and torch.equal(a.cu_seqlens_k, b.cu_seqlens_k) and b.max_page_id == 3


def test_run_rejects_overlapping_out():
    w = planned()
    q = torch.randn(9, 8, 128).bfloat16()
    cache = torch.zeros(4, 16, 2, 128, dtype=torch.bfloat16)
    out = torch.empty(1, 8, 128, dtype=torch.bfloat16).expand(9, 8, 128)
    with pytest.raises(ValueError, match="out has stride 0"):
        w.run(q, (cache, cache), out=out)


def test_plan_for_cuda_without_cuda_is_a_device_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    indptr, indices, last = table((40, 7), 16)
    with pytest.raises(cute_attn.DeviceError, match="device='cpu'"):
        cute_attn.BatchPrefillWithPagedKVCacheWrapper().plan([0, 5, 9], indptr, indices, last, 8, 2, 128, 16)


def test_no_kv_row_gives_zeros_and_minus_inf_without_a_launch(monkeypatch):
    """Every request without KV (here a cache of no pages): output 0, LSE -inf, no kernel launch; a cache of no
    pages under a plan with KV rows (page ids on the GPU, so unchecked by the plan) raises."""
    import cute_attn.prefill_paged as PP

    monkeypatch.setattr(PP.C, "cuda_device", lambda **kw: None)
    monkeypatch.setattr(PP, "get_kernel", lambda spec: pytest.fail("launched a kernel without KV"))
    w = cute_attn.BatchPrefillWithPagedKVCacheWrapper(device="cpu")
    none = torch.zeros(0, dtype=I32)
    w.plan([0, 2, 5], torch.zeros(3, dtype=I32), none, torch.zeros(2, dtype=I32), 8, 2, 128, 16, causal=True)
    empty = torch.zeros(0, 16, 2, 128, dtype=torch.bfloat16)
    out, lse = w.run(torch.randn(5, 8, 128).bfloat16(), (empty, empty), return_lse=True)
    assert out.shape == (5, 8, 128) and torch.all(out == 0) and torch.all(torch.isneginf(lse))
    w = planned()
    w._plan.max_page_id = -1  # as when kv_indices were given on the GPU
    with pytest.raises(ValueError, match="no pages but the plan's requests hold 47 KV rows"):
        w.run(torch.randn(9, 8, 128).bfloat16(), (empty, empty))


@pytest.mark.parametrize("use_lib", [True, False])
def test_hd64_causal_plans_pick_the_short_tile(monkeypatch, prefill_plan_lib, use_lib):
    """hd64 causal: the dense plan's rule (choose_tile_m, PREFILL_SHORT_TILE's factor) picks the paged kernel's
    128 x 128 variant for short requests (16 x 1k, append 512 on a long cache) and the 192 x 112 table tile for long
    ones (4 x 4k); the load path follows the variant's key tile (page 64: box 64 at 128 rows, box 16 at 112). Either
    planner (the compiled one applies the rule itself)."""
    import importlib

    P = importlib.import_module("cute_attn.prefill")
    monkeypatch.setattr(P, "_PLAN_LIB", [prefill_plan_lib if use_lib else None])
    cases = [([1024] * 16, [1024] * 16, 128), ([512] * 4, [8192] * 4, 128), ([4096] * 4, [4096] * 4, 0)]
    for q_lens, kv_lens, tile_m in cases:
        for page_size, box in ((1, 0), (16, 16), (64, 64 if tile_m else 16)):
            qo = (0, *torch.tensor(q_lens).cumsum(0).tolist())
            w = planned(qo=qo, kv_lens=kv_lens, page_size=page_size, hq=4, hk=4, d=64, causal=True)
            assert (w._plan.spec.tile_m, w._plan.spec.tma_box_rows) == (tile_m, box), (q_lens, page_size)
            assert P.choose_tile_m(q_lens, 64, 64, True) == tile_m
            # the tiles of the plan's work are the variant's: 4 heads x sum(ceil(q / tile)) rows of work
            tile = tile_m or 192
            rows = 4 * sum(-(-q // tile) for q in q_lens)
            w_all = w._plan.work
            assert int(w_all.shape[0]) - int(w_all[0, 0]) == rows
    w = planned(qo=(0, 1024), kv_lens=(1024,), page_size=16, d=64, causal=False)
    assert w._plan.spec.tile_m == 0
    w = planned(qo=(0, 7), kv_lens=(300,), page_size=16, d=128, causal=True)
    assert w._plan.spec.tile_m == 128  # (hd128: its short tile, as the dense plan's rule with factor 1.02)


def test_a_replaced_choose_tile_m_forces_the_paged_variant(monkeypatch):
    """As for the dense wrapper (tests, benches force a variant by replacing ``prefill.choose_tile_m``): the paged
    plan follows it, takes a forced tile equal to the paged table tile's rows as the table variant and refuses a tile
    the paged kernel does not have."""
    import importlib

    P = importlib.import_module("cute_attn.prefill")
    monkeypatch.setattr(P, "choose_tile_m", lambda *a: 128)
    w = planned(qo=(0, 4096), kv_lens=(4096,), page_size=64, d=64, causal=True)
    assert (w._plan.spec.tile_m, w._plan.spec.tma_box_rows) == (128, 64)
    assert planned(qo=(0, 16384), kv_lens=(16384,), d=128, causal=True)._plan.spec.tile_m == 128
    monkeypatch.setattr(P, "choose_tile_m", lambda *a: 192)
    assert planned(qo=(0, 300), kv_lens=(300,), d=128, causal=True)._plan.spec.tile_m == 0
    monkeypatch.setattr(P, "choose_tile_m", lambda *a: 0)
    w = planned(qo=(0, 7), kv_lens=(300,), page_size=64, d=64, causal=True)
    assert (w._plan.spec.tile_m, w._plan.spec.tma_box_rows) == (0, 16)
    monkeypatch.setattr(P, "choose_tile_m", lambda *a: 64)
    with pytest.raises(ValueError, match="no tile_m=64 variant"):
        planned(qo=(0, 7), kv_lens=(300,), d=64, causal=True)
