"""Manifest, staleness and loading errors, without compiling anything."""

import json
import os

import pytest

from cute_attn import artifacts as A
from cute_attn import errors
from cute_attn.build import kernel_sources, plan_build
from cute_attn.specs import MergeStateSpec


def fake_entry(spec, directory, source_hash=None):
    path = os.path.join(directory, spec.name + ".so")
    with open(path, "wb") as f:
        f.write(b"not a real library")
    return {
        "op": spec.op, "fields": spec.fields(), "file": os.path.basename(path), "symbol": spec.name,
        "source_hash": source_hash or spec.source_hash(), "compile_key": spec.compile_key(A.dsl_version() or ""),
        "dsl_version": A.dsl_version(), "compile_seconds": 0.0,
    }


@pytest.fixture
def src(monkeypatch, tmp_path):
    """The (single, fake) kernel source every MergeStateSpec hashes during the test."""
    path = tmp_path / "kernel_src.py"
    path.write_text("# v1\n")
    monkeypatch.setattr(MergeStateSpec, "source_files", lambda self: [str(path)])
    return path


@pytest.fixture
def spec(src):
    return MergeStateSpec(dtype="bf16")


def test_manifest_round_trip_and_status(tmp_path, spec, src):
    d = str(tmp_path / "art")
    m = A.Manifest(d, "sm_90a")
    assert m.status(spec) == "missing"
    os.makedirs(d)
    m.entries[spec.name] = fake_entry(spec, d)
    m.write()
    m2 = A.Manifest.read(d, "sm_90a")
    assert m2.entries == m.entries
    assert m2.status(spec) == "ok"
    with open(os.path.join(d, A.MANIFEST)) as f:
        assert json.load(f)["arch"] == "sm_90a"
    src.write_text("# v2: the kernel changed\n")
    assert m2.status(spec) == "stale"
    os.remove(os.path.join(d, spec.name + ".so"))
    assert m2.status(spec) == "missing"


def test_manifest_of_other_arch_or_format_is_ignored(tmp_path, spec):
    d = tmp_path / "art"
    d.mkdir()
    (d / A.MANIFEST).write_text(json.dumps({"format": 1, "arch": "sm_100a", "artifacts": {spec.name: {}}}))
    assert A.Manifest.read(str(d), "sm_90a").entries == {}
    (d / A.MANIFEST).write_text(json.dumps({"format": 99, "arch": "sm_90a", "artifacts": {spec.name: {}}}))
    assert A.Manifest.read(str(d), "sm_90a").entries == {}


def test_plan_build_rebuilds_only_changed(tmp_path, spec, src):
    d = str(tmp_path / "art")
    os.makedirs(d)
    other = MergeStateSpec(dtype="fp16")
    todo, fresh = plan_build([spec, other], d, force=False)
    assert todo == [spec, other] and fresh == []
    m = A.Manifest(d, "sm_90a")
    m.entries[spec.name] = fake_entry(spec, d)
    m.entries[other.name] = fake_entry(other, d)
    m.write()
    todo, fresh = plan_build([spec, other], d, force=False)
    assert todo == [] and fresh == [spec, other]
    assert plan_build([spec, other], d, force=True)[0] == [spec, other]
    src.write_text("# edited\n")
    todo, fresh = plan_build([spec, other], d, force=False)
    assert todo == [spec, other] and fresh == []  # both read the same (patched) source


def test_search_order_and_find(tmp_path, spec, src, monkeypatch):
    d = str(tmp_path / "env_dir")
    monkeypatch.setenv("CUTE_ATTN_ARTIFACTS", d)
    monkeypatch.setenv("CUTE_ATTN_CACHE", str(tmp_path / "cache"))
    assert A.search_dirs("sm_90a")[0] == d
    assert A.search_dirs("sm_90a")[-1] == str(tmp_path / "cache" / "sm_90a")
    os.makedirs(d)
    m = A.Manifest(d, "sm_90a")
    m.entries[spec.name] = fake_entry(spec, d)
    m.write()
    path, _ = A.find_artifact(spec)
    assert path == os.path.join(d, spec.name + ".so")
    src.write_text("# changed\n")
    path, seen = A.find_artifact(spec)
    assert path is None and any("stale" in s for s in seen)


def test_missing_artifact_without_gpu_names_the_build_command(tmp_path, spec, monkeypatch):
    monkeypatch.setenv("CUTE_ATTN_ARTIFACTS", str(tmp_path / "none"))
    monkeypatch.setenv("CUTE_ATTN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(A, "default_build_dir", lambda arch: str(tmp_path / "nobuild"))
    monkeypatch.setattr(A, "_gpu_available", lambda: False)
    with pytest.raises(errors.ArtifactError, match="python -m cute_attn.build --arch sm_90a"):
        A.get_kernel(spec)


def test_build_worker_reports_a_failure_with_the_variant_name(tmp_path, monkeypatch):
    from cute_attn.build import _build_worker

    monkeypatch.setenv("CUTE_DSL_ARCH", "sm_90a")
    monkeypatch.setattr(MergeStateSpec, "compile_fn", "no_such_compile_function")
    spec = MergeStateSpec(dtype="fp16")
    name, entry, msg = _build_worker(spec.op, spec.fields(), str(tmp_path), False)
    assert name == "merge_state_fp16_sm90a" and entry is None
    assert "no_such_compile_function" in msg


def test_build_env_mismatch_is_not_loaded(tmp_path, monkeypatch):
    """A dense hd256 non-causal artifact built with the 2-CTA clusters (the default) is not loaded by a process that
    plans without them (CUTE_ATTN_PREFILL_CLUSTER=1), nor the reverse: find_artifact says why instead of returning a
    kernel that would leave half the tiles unwritten. Variants without build-time switches record none."""
    from cute_attn.specs import PrefillPagedSpec, PrefillSpec

    spec = PrefillSpec(head_dim=256, head_dim_v=256, causal=False)
    assert PrefillSpec(head_dim=256, head_dim_v=256, causal=True).build_env() == {}
    assert PrefillSpec().build_env() == {} and PrefillPagedSpec(head_dim=256, head_dim_v=256).build_env() == {}
    d = str(tmp_path / "art")
    os.makedirs(d)
    monkeypatch.setenv("CUTE_ATTN_ARTIFACTS", d)
    monkeypatch.setenv("CUTE_ATTN_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CUTE_ATTN_PREFILL_CLUSTER", raising=False)
    assert spec.build_env() == {"cluster": 2}
    m = A.Manifest(d, "sm_90a")
    m.entries[spec.name] = {**fake_entry(spec, d), "build_env": spec.build_env()}
    m.write()
    assert A.Manifest.read(d, "sm_90a").status(spec) == "ok"
    key_on = spec.compile_key("v")
    monkeypatch.setenv("CUTE_ATTN_PREFILL_CLUSTER", "1")
    assert A.Manifest.read(d, "sm_90a").status(spec) == "other-build"
    assert spec.compile_key("v") != key_on  # a rebuild under the other value is not "up to date"
    path, seen = A.find_artifact(spec)
    assert path is None and any("{'cluster': 2}" in s and "{'cluster': 1}" in s for s in seen)


def test_tile_overrides_and_kv_layout_are_build_env(tmp_path, monkeypatch):
    """The development tile overrides (CUTE_ATTN_PREFILL_SET) and the paged kernel's old K/V stage layout
    (CUTE_ATTN_PAGED_KV_INTERLEAVE=0) are recorded per variant, so an artifact built under them is refused by a
    process that plans without them (it would plan other tiles, or skip the page-stride check the kernel needs),
    and the reverse; the default build records nothing for them."""
    from cute_attn.specs import PrefillPagedSpec, PrefillSpec

    monkeypatch.delenv("CUTE_ATTN_PREFILL_SET", raising=False)
    monkeypatch.delenv("CUTE_ATTN_PAGED_KV_INTERLEAVE", raising=False)
    dense, box = PrefillSpec(), PrefillPagedSpec(tile_m=128, tma_box_rows=64)
    assert dense.build_env() == {} and box.build_env() == {}
    key_dense, key_box = dense.compile_key("v"), box.compile_key("v")
    d = str(tmp_path / "art")
    os.makedirs(d)
    monkeypatch.setenv("CUTE_ATTN_ARTIFACTS", d)
    monkeypatch.setenv("CUTE_ATTN_CACHE", str(tmp_path / "cache"))
    m = A.Manifest(d, "sm_90a")
    for spec in (dense, box):
        m.entries[spec.name] = fake_entry(spec, d)
    m.write()
    assert A.Manifest.read(d, "sm_90a").status(dense) == "ok"

    monkeypatch.setenv("CUTE_ATTN_PREFILL_SET", "hd128:double_p=0,q_rs=1;hd64:tile_n=64")
    assert dense.build_env() == {"set": "double_p=0,q_rs=1"} == box.build_env()
    assert PrefillSpec(head_dim=256, head_dim_v=256, causal=True).build_env() == {}  # not its head dim
    assert PrefillSpec(head_dim=64, head_dim_v=64).build_env() == {"set": "tile_n=64"}
    assert dense.compile_key("v") != key_dense and box.compile_key("v") != key_box
    assert A.Manifest.read(d, "sm_90a").status(dense) == "other-build"
    path, seen = A.find_artifact(dense)
    assert path is None and any("double_p=0,q_rs=1" in s for s in seen)

    monkeypatch.delenv("CUTE_ATTN_PREFILL_SET")
    monkeypatch.setenv("CUTE_ATTN_PAGED_KV_INTERLEAVE", "0")
    assert box.build_env() == {"kv_interleave": 0}
    assert PrefillPagedSpec(tma_box_rows=0).build_env() == {}  # the gathers have one layout
    # hd64's box variants use the grouped 8-row view under the same switch (session 17: layouts.paged.kv_grouped)
    assert PrefillPagedSpec(head_dim=64, head_dim_v=64, tma_box_rows=64).build_env() == {"kv_interleave": 0}
    assert A.Manifest.read(d, "sm_90a").status(box) == "other-build"
    m = A.Manifest.read(d, "sm_90a")
    m.entries[box.name] = {**fake_entry(box, d), "build_env": box.build_env()}
    m.write()
    assert A.Manifest.read(d, "sm_90a").status(box) == "ok"
    monkeypatch.delenv("CUTE_ATTN_PAGED_KV_INTERLEAVE")
    assert A.Manifest.read(d, "sm_90a").status(box) == "other-build"


def test_kernel_sources_is_the_imported_kernels_folder():
    """The build names the folder its kernels come from: the one `cute_attn.kernels` imports, which holds the decode
    kernel's source (a worktree build run from another checkout would print that checkout's folder)."""
    import cute_attn.kernels as kernels  # the package only: no DSL import

    src = kernel_sources()
    assert src == os.path.dirname(os.path.abspath(kernels.__file__))
    assert os.path.isfile(os.path.join(src, "decode_sm90.py"))
    assert os.path.isfile(os.path.join(src, "prefill_sm90.py"))
