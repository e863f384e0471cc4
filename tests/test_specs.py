"""Specs: names, validation, compile keys."""

import dataclasses
import itertools
import os

import pytest

from cute_attn import specs as S


def test_shipped_names_are_unique_and_round_trip():
    shipped = S.shipped_specs()
    names = [s.name for s in shipped]
    assert len(names) == len(set(names))
    for s in shipped:
        assert S.spec_from_fields(s.op, s.fields()) == s
        assert s.name.startswith(s.op + "_") and s.name.endswith("_sm90a")
        assert s.name.isidentifier()  # it is also the exported C symbol


def test_name_spells_every_field():
    s = S.PrefillSpec(dtype="fp16", head_dim=192, head_dim_v=128, causal=True)
    assert s.name == "prefill_fp16_headdim192_headdimv128_causal_sm90a"
    assert S.PrefillSpec(causal=False).name == "prefill_bf16_headdim128_headdimv128_nocausal_sm90a"


def test_short_tile_variant_named_only_when_set():
    base = S.PrefillSpec(head_dim=64, head_dim_v=64, causal=True)
    short = S.PrefillSpec(head_dim=64, head_dim_v=64, causal=True, tile_m=128)
    assert base.name == "prefill_bf16_headdim64_headdimv64_causal_sm90a"
    assert short.name == "prefill_bf16_headdim64_headdimv64_causal_tilem128_sm90a"
    assert short in S.shipped_specs() and base in S.shipped_specs()
    assert S.spec_from_fields("prefill", short.fields()) == short
    with pytest.raises(ValueError, match="no tile_m=64"):
        S.PrefillSpec(head_dim=64, head_dim_v=64, causal=True, tile_m=64)
    with pytest.raises(ValueError, match="no tile_m=128"):  # hd256's table tile has no second variant
        S.PrefillSpec(head_dim=256, head_dim_v=256, causal=True, tile_m=128)
    assert S.PrefillSpec(head_dim=128, head_dim_v=128, causal=False, tile_m=128) in S.shipped_specs()



def test_paged_short_tile_variants():
    """The paged kernel's short-request variants (128 x 128 for hd64 causal and hd128: PAGED_SHORT_TILE) ship with
    every load path their 128-row key tile allows (box 64 too, which the table tiles' 112 / 80 rows do not); hd256 and
    hd64 non-causal have none."""
    short = S.PrefillPagedSpec(head_dim=64, head_dim_v=64, causal=True, tile_m=128)
    assert short.tile_n == 128 and S.PrefillPagedSpec(head_dim=64, head_dim_v=64, causal=True).tile_n == 112
    assert short.name == "prefill_paged_bf16_headdim64_headdimv64_causal_tilem128_tmaboxrows0_sm90a"
    assert S.spec_from_fields("prefill_paged", short.fields()) == short
    shipped = [s for s in S.shipped_specs() if s.op == "prefill_paged" and s.tile_m]
    assert sorted((s.head_dim, s.causal, s.dtype, s.tma_box_rows) for s in shipped) == [
        (hd, causal, dt, box) for hd, causal in ((64, True), (128, False), (128, True)) for dt in ("bf16", "fp16")
        for box in (0, 16, 64)]
    assert all(s.tile_m == 128 == s.tile_n for s in shipped)
    for hd in (64, 128):  # the table tiles: 192 rows
        assert {(s.tile_m, s.tma_box_rows) for s in S.shipped_specs()
                if s.op == "prefill_paged" and s.head_dim == hd and s.causal and not s.tile_m} == {(0, 0), (0, 16)}
    for hd, causal, tile_m in ((64, False, 128), (256, True, 128), (64, True, 64), (128, True, 192)):
        with pytest.raises(ValueError, match=f"no tile_m={tile_m} variant"):
            S.PrefillPagedSpec(head_dim=hd, head_dim_v=hd, causal=causal, tile_m=tile_m)
    with pytest.raises(ValueError, match="does not divide the key tile"):
        S.PrefillPagedSpec(head_dim=64, head_dim_v=64, causal=True, tma_box_rows=64)
    assert S.PrefillPagedSpec(head_dim=64, head_dim_v=64, causal=True, tile_m=128, tma_box_rows=64).tile_n == 128


def test_specs_are_frozen_and_hashable():
    s = S.AppendKVSpec(dtype="fp16")
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.dtype = "bf16"
    assert {s: 1}[S.AppendKVSpec(dtype="fp16")] == 1


@pytest.mark.parametrize(
    "make,exc",
    [
        (lambda: S.AppendKVSpec(dtype="fp32"), ValueError),
        (lambda: S.AppendKVSpec(arch="sm_80"), ValueError),
        (lambda: S.PrefillSpec(head_dim=96, head_dim_v=96), ValueError),
        (lambda: S.PrefillSpec(head_dim=128.0), TypeError),
        (lambda: S.PrefillSpec(causal=None), TypeError),
        (lambda: S.MergeStatesSpec(dtype=("bf16",)), TypeError),
    ],
)
def test_bad_fields_are_rejected(make, exc):
    with pytest.raises(exc):
        make()


def test_compile_key_depends_on_fields_sources_and_dsl(monkeypatch, tmp_path):
    a = S.MergeStateSpec(dtype="bf16")
    b = S.MergeStateSpec(dtype="fp16")
    assert a.compile_key("4.8.1") != b.compile_key("4.8.1")
    assert a.compile_key("4.8.1") != a.compile_key("4.9.0")
    assert a.compile_key("4.8.1") == S.MergeStateSpec(dtype="bf16").compile_key("4.8.1")
    src = tmp_path / "k.py"
    src.write_text("x = 1\n")
    monkeypatch.setattr(S.MergeStateSpec, "source_files", lambda self: [str(src)])
    before = a.compile_key("4.8.1")
    src.write_text("x = 2\n")
    assert a.compile_key("4.8.1") != before


def test_source_files_follow_local_imports(tmp_path):
    """The compile key hashes the kernel module and the kernel/layout modules it imports, transitively,
    and nothing else (editing an unrelated kernel does not make an artifact stale)."""
    pkg = tmp_path / "kern"
    (pkg / "common").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "common" / "__init__.py").write_text("")
    (pkg / "main.py").write_text("import os\nfrom .common.softmax import f\nfrom .common import mask\n")
    (pkg / "common" / "softmax.py").write_text("from . import util\n")
    (pkg / "common" / "util.py").write_text("x = 1\n")
    (pkg / "common" / "mask.py").write_text("y = 2\n")
    (pkg / "common" / "unrelated.py").write_text("z = 3\n")
    seen = set()
    S._local_imports(str(pkg / "main.py"), seen)
    names = sorted(os.path.relpath(p, pkg) for p in seen)
    assert names == ["common/__init__.py", "common/mask.py", "common/softmax.py", "common/util.py", "main.py"]


def test_memory_kernels_do_not_hash_prefill_pieces():
    files = S.AppendKVSpec().source_files()
    assert files[0].endswith("append_kv.py")
    # relative to the checkout, so a checkout whose own path says "prefill" does not fail it
    rel = [os.path.relpath(f, os.path.dirname(os.path.dirname(os.path.abspath(__file__)))) for f in files]
    assert not any("prefill" in f or f.startswith("kernels" + os.sep + "common" + os.sep) for f in rel), rel


def test_every_variant_a_plan_can_pick_is_shipped():
    """The variants the API's plans choose (CPU plans) are all in shipped_specs(), and that set holds every
    combination the issues require (bf16/fp16 x head dims x causal), so test_compile's loops over it are not
    vacuous and no plan picks a variant the build never compiled (an ArtifactError on the GPU host)."""
    import torch

    import cute_attn

    shipped = set(S.shipped_specs())
    I32 = torch.int32
    picked = set()
    for dtype in (torch.bfloat16, torch.float16):
        for causal in (False, True):
            for hd, hdv in S.PREFILL_HEAD_DIMS:
                for q_lens in ([1], [16384], [1024] * 16):
                    qo = [0] + torch.tensor(q_lens).cumsum(0).tolist()
                    w = cute_attn.BatchPrefillWithRaggedKVCacheWrapper(device="cpu")
                    w.plan(qo, qo, 4, 2, hd, hdv, causal=causal, q_data_type=dtype)
                    picked.add(w._plan.spec)
            for hd, hdv in S.PREFILL_PAGED_HEAD_DIMS:
                for page_size, q_len in itertools.product((1, 2, 3, 8, 16, 24, 32, 48, 64, 80, 96, 128, 256, 512),
                                                          (7, 300)):  # (hd64 causal: the short tile, then the table's)
                    w = cute_attn.BatchPrefillWithPagedKVCacheWrapper(device="cpu")
                    last = torch.tensor([(300 - 1) % page_size + 1], dtype=I32)
                    pages = -(-300 // page_size)
                    w.plan([0, q_len], torch.tensor([0, pages], dtype=I32), torch.arange(pages, dtype=I32), last, 4,
                           2, hd, page_size, causal=causal, q_data_type=dtype, head_dim_vo=hdv)
                    picked.add(w._plan.spec)
        for hd in S.DECODE_HEAD_DIMS:
            w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(device="cpu")
            w.plan(torch.tensor([0, 1], dtype=I32), torch.tensor([0], dtype=I32), torch.tensor([5], dtype=I32), 8, 2,
                   hd, 16, q_data_type=dtype)
            picked.add(w._plan.spec)
    assert picked <= shipped, sorted(s.name for s in picked - shipped)
    assert {s.tma_box_rows for s in picked if s.op == "prefill_paged" and s.tile_m} == {0, 16, 64}
    required = {(d, hd, hdv, c) for d in S.DTYPES for hd, hdv in ((64, 64), (128, 128), (256, 256), (192, 128))
                for c in (False, True)}
    assert required <= {(s.dtype, s.head_dim, s.head_dim_v, s.causal) for s in shipped if s.op == "prefill"}
    assert {(d, hd) for d in S.DTYPES for hd in (64, 128, 256)} <= {
        (s.dtype, s.head_dim) for s in shipped if s.op in ("decode", "prefill_paged")}
    assert {s.op for s in shipped} >= {"prefill", "prefill_paged", "decode", "append_kv", "merge_state", "merge_states"}


def test_decode_one_item_variant():
    """The decode variant for plans of one work item per CTA (session 14: 3 KV stages at hd128) is shipped beside the
    default, named only when set, and the spec table equals the one the kernel reads."""
    from cute_attn.layouts.decode_work import DECODE_ONE_ITEM_STAGES

    assert S.DECODE_ONE_ITEM_STAGES == DECODE_ONE_ITEM_STAGES
    base = S.DecodeSpec(dtype="bf16", head_dim=128)
    one = S.DecodeSpec(dtype="bf16", head_dim=128, stages=3)
    assert base.name == "decode_bf16_headdim128_sm90a" and one.name == "decode_bf16_headdim128_stages3_sm90a"
    shipped = S.shipped_specs()
    for dtype in S.DTYPES:
        for hd in S.DECODE_HEAD_DIMS:
            assert S.DecodeSpec(dtype=dtype, head_dim=hd) in shipped
            extra = [s for s in shipped if s.op == "decode" and s.dtype == dtype and s.head_dim == hd and s.stages
                     and s.item_heads == 1]
            assert [s.stages for s in extra] == ([DECODE_ONE_ITEM_STAGES[hd]] if hd in DECODE_ONE_ITEM_STAGES else [])
    for bad in (1, 7, -1):
        with pytest.raises(ValueError, match="stages"):
            S.DecodeSpec(stages=bad)


def test_decode_item_heads_variants():
    """Items of H kv heads (session 23): a variant per H of layouts.decode_work.ITEM_HEADS at the one-item stage count
    (the default where the head dim has none), for the head dims of ITEM_HEADS_HEAD_DIMS only (what the planners allow),
    named only when set."""
    from cute_attn.layouts.decode_work import DECODE_ONE_ITEM_STAGES, ITEM_HEADS, ITEM_HEADS_HEAD_DIMS

    shipped = S.shipped_specs()
    for dtype in S.DTYPES:
        for hd in S.DECODE_HEAD_DIMS:
            got = sorted((s.item_heads, s.stages) for s in shipped
                         if s.op == "decode" and s.dtype == dtype and s.head_dim == hd and s.item_heads > 1)
            want = sorted((h, DECODE_ONE_ITEM_STAGES.get(hd, 0)) for h in ITEM_HEADS) if hd in ITEM_HEADS_HEAD_DIMS else []
            assert got == want
    assert S.DecodeSpec(head_dim=128, stages=3, item_heads=4).name == "decode_bf16_headdim128_stages3_itemheads4_sm90a"
    for bad in (0, 3, 16):
        with pytest.raises(ValueError, match="item_heads"):
            S.DecodeSpec(item_heads=bad)


def test_decode_dyn_heads_variants():
    """The run-time-H variant (session 24, what CUDA-graph mode captures): one per dtype at the default stages for the
    head dims of ITEM_HEADS_HEAD_DIMS, named only when set; not with item_heads > 1 nor at other head dims."""
    from cute_attn.layouts.decode_work import ITEM_HEADS_HEAD_DIMS

    shipped = S.shipped_specs()
    got = sorted((s.dtype, s.head_dim, s.stages, s.item_heads) for s in shipped if s.op == "decode" and s.dyn_heads)
    assert got == sorted((dt, hd, 0, 1) for dt in S.DTYPES for hd in ITEM_HEADS_HEAD_DIMS)
    assert S.DecodeSpec(head_dim=128, dyn_heads=True).name == "decode_bf16_headdim128_dynheads_sm90a"
    assert S.DecodeSpec(head_dim=128).name == "decode_bf16_headdim128_sm90a"
    with pytest.raises(ValueError, match="dyn_heads"):
        S.DecodeSpec(head_dim=128, item_heads=4, dyn_heads=True)
    with pytest.raises(ValueError, match="dyn_heads"):
        S.DecodeSpec(head_dim=256, dyn_heads=True)
    with pytest.raises(TypeError, match="dyn_heads"):
        S.DecodeSpec(head_dim=128, dyn_heads=1)
    assert S.spec_from_fields("decode", dataclasses.asdict(S.DecodeSpec(head_dim=64, dyn_heads=True))).dyn_heads
