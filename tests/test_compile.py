"""Compile every shipped kernel variant for sm_90a through the real build command (no GPU needed),
then check the manifest, the exported symbols, the host libraries and the incremental rebuild."""

import os

import pytest

from cute_attn import artifacts as A
from cute_attn.build import build, plan_build
from cute_attn.specs import shipped_specs

pytestmark = pytest.mark.compile


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("artifacts"))
    lines = []
    directory, failures = build(out=out, jobs=os.cpu_count(), keep_ptx=True, log=lines.append)
    return directory, failures, lines


def test_every_shipped_variant_builds(built):
    directory, failures, lines = built
    assert failures == [], "\n".join(f"{n}: {m}" for n, m in failures)
    manifest = A.Manifest.read(directory, "sm_90a")
    for spec in shipped_specs():
        assert manifest.status(spec) == "ok", spec.name
        entry = manifest.entries[spec.name]
        assert entry["symbol"] == spec.name and entry["dsl_version"] == A.dsl_version()
        assert entry["compile_key"] == spec.compile_key(A.dsl_version())
    assert any("built" in line for line in lines)


def test_artifacts_load_and_export_their_symbol(built):
    directory, _, _ = built
    manifest = A.Manifest.read(directory, "sm_90a")
    for spec in shipped_specs():
        fn = A._load_library(manifest.path(spec), spec.name)
        assert callable(fn)


def test_host_libraries_build_beside_the_kernels(built):
    """The compiled decode planner and prefill list schedule are part of the build (their agreement with the
    Python references is tests/test_decode_plan.py's and tests/test_prefill_plan.py's)."""
    import importlib

    from cute_attn import decode, hostlib

    prefill = importlib.import_module("cute_attn.prefill")
    directory, _, lines = built
    for name in ("decode_plan", "prefill_plan"):
        path = os.path.join(directory, hostlib.file_name(name))
        assert os.path.isfile(path) and any(f"host library {name}" in line for line in lines)
    assert decode.compiled_planner(os.path.join(directory, hostlib.file_name("decode_plan"))) is not None
    assert prefill.compiled_schedule(os.path.join(directory, hostlib.file_name("prefill_plan"))) is not None


def test_rebuild_is_incremental(built):
    directory, _, _ = built
    todo, fresh = plan_build(shipped_specs(), directory, force=False)
    assert todo == [] and len(fresh) == len(shipped_specs())
    lines = []
    _, failures = build(out=directory, log=lines.append)
    assert failures == [] and "0 to build" in lines[0]


def test_ptx_uses_hopper_paths(built):
    """The prefill kernels must use wgmma, TMA and register reallocation (paged prefill: Q by TMA, K/V by
    cp.async gathers or by TMA boxes with the request tails gathered); decode wgmma fed by cp.async gathers on mbarriers; the
    page-id sort shared memory and barriers; the memory kernels 128-bit global accesses."""
    directory, _, _ = built
    for spec in shipped_specs():
        path = os.path.join(directory, spec.name + ".ptx")
        assert os.path.isfile(path), f"no PTX kept for {spec.name}"
        ptx = open(path).read()
        if spec.op == "prefill":
            for needle in ("wgmma.mma_async", "cp.async.bulk.tensor", "setmaxnreg"):
                assert needle in ptx, f"{spec.name}: no {needle}"
        elif spec.op == "prefill_paged":
            for needle in ("wgmma.mma_async", "cp.async.cg.shared.global", "cp.async.bulk.tensor", "setmaxnreg"):
                assert needle in ptx, f"{spec.name}: no {needle}"
        elif spec.op == "decode":
            for needle in ("wgmma.mma_async", "cp.async.cg.shared.global", "cp.async.mbarrier.arrive.noinc"):
                assert needle in ptx, f"{spec.name}: no {needle}"
        elif spec.op == "sort_pages":  # the bitonic sort: 16-byte shared-memory passes, a CTA barrier after each
            for needle in ("ld.shared.v4", "st.shared.v4", "bar.sync"):
                assert needle in ptx, f"{spec.name}: no {needle}"
        else:
            assert ".v4." in ptx or ".v8." in ptx, f"{spec.name}: no vector global access"


def test_kept_ptx_is_each_variants_own(built):
    """Every variant's kept PTX differs from every other's (comments aside), and a paged variant with 16-row TMA
    boxes issues more TMA copies than its 64-row twin: the parallel workers once swapped the .ptx copies of
    variants whose kernels share a name (paged box 16 / box 64), which made PTX-identity checks compare the
    wrong files."""
    directory, _, _ = built
    seen = {}
    for spec in shipped_specs():
        with open(os.path.join(directory, spec.name + ".ptx")) as f:
            body = "\n".join(line for line in f if not line.lstrip().startswith("//"))
        assert body not in seen, f"{spec.name} has the PTX of {seen.get(body)}"
        seen[body] = spec.name
    tma = {n: b.count("cp.async.bulk.tensor") for b, n in seen.items()}
    pairs = [(n, n.replace("tmaboxrows16", "tmaboxrows64")) for n in tma if "tmaboxrows16" in n]
    pairs = [(a, b) for a, b in pairs if b in tma]  # tiles of 80 / 112 keys have no 64-row boxes
    assert pairs
    for n16, n64 in pairs:
        assert tma[n16] > tma[n64], f"{n16}: {tma[n16]} TMA copies, {n64}: {tma[n64]}"
