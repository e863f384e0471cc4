"""Specs: names, validation, compile keys."""

import dataclasses
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
    with pytest.raises(ValueError, match="no tile_m=128"):  # hd128's table tile has no second variant
        S.PrefillSpec(head_dim=128, head_dim_v=128, causal=True, tile_m=128)
    with pytest.raises(ValueError, match="one tile per head dim"):
        S.PrefillPagedSpec(head_dim=64, head_dim_v=64, causal=True, tile_m=128)


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
