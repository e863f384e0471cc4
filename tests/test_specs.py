"""Specs: names, validation, compile keys."""

import dataclasses

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


def test_source_files_cover_kernel_common_and_layouts():
    files = S.PrefillSpec().source_files()
    assert files[0].endswith("prefill_sm90.py")
    assert any("layouts" in f for f in files)
    assert any(f.endswith("specs.py") for f in files)
