"""CPU checks of the paged prefill's build-time A/B switches (session 5, bench/NOTES-prefill-paged.md 13): the shared
memory budget with separate K and V stage counts, the paged config's kept dense features, the kernel's config under
each switch (the module globals the env vars set at import), and, with the DSL, that the switched kernels compile."""

import dataclasses

import pytest

from cute_attn.kernels.common.config import (
    PAGED_OFF,
    SMEM_LIMIT_BYTES,
    prefill_config,
    prefill_smem_bytes,
    with_kv_stages,
)


@pytest.mark.parametrize("hd", [64, 128, 256])
@pytest.mark.parametrize("causal", [False, True])
def test_smem_formula_with_equal_stages_is_the_old_one(hd, causal):
    cfg = prefill_config(hd, hd, causal, paged=True)
    assert (cfg.k_stages, cfg.v_stages) == (2, 2)
    old = 2 * (cfg.tile_m * hd + 2 * cfg.tile_n * (hd + hd))
    assert prefill_smem_bytes(cfg, hd, hd, False) == old + 1024
    assert prefill_smem_bytes(cfg, hd, hd, True) == old + 2 * cfg.tile_m * hd + 2048
    assert cfg.separate_o == (old + 2 * cfg.tile_m * hd + 2048 <= SMEM_LIMIT_BYTES)


def test_three_k_stages_fit_with_own_so_up_to_hd128():
    for hd in (64, 128):
        for causal in (False, True):
            cfg = prefill_config(hd, hd, causal, paged=True)
            k3 = with_kv_stages(cfg, hd, hd, 3, 2)
            assert k3 is not None and k3.separate_o and (k3.k_stages, k3.v_stages) == (3, 2)
    cfg = prefill_config(128, 128, True, paged=True)
    # hd128: Q 32 + K 96 + V 64 + sO 32 KiB + 2 KiB allowance
    assert prefill_smem_bytes(with_kv_stages(cfg, 128, 128, 3, 2), 128, 128, True) == (224 + 2) * 1024
    # a third V stage too would need sO to alias sQ (S3, NOTES 11): refused
    assert with_kv_stages(cfg, 128, 128, 3, 3) is None
    assert with_kv_stages(prefill_config(256, 256, True, paged=True), 256, 256, 3, 2) is None


def test_paged_keep():
    dense = prefill_config(128, 128, True)
    assert dense.trim_diagonal and dense.tma_store_o
    off = prefill_config(128, 128, True, paged=True)
    assert {f: getattr(off, f) for f in PAGED_OFF} == PAGED_OFF
    keep = prefill_config(128, 128, True, paged=True, paged_keep=("trim_diagonal", "tma_store_o"))
    assert keep == dense
    assert prefill_config(128, 128, True, paged=True, paged_keep=("trim_diagonal",)) == dataclasses.replace(
        dense, tma_store_o=False)


@pytest.fixture
def paged_module(monkeypatch):
    pytest.importorskip("cutlass")
    from cute_attn.kernels import prefill_paged_sm90 as m

    assert m.K3_PATHS == frozenset(), "K3 is off by default"
    assert m.PAGED_KEEP == ("trim_diagonal", "tma_store_o"), "the trim and the TMA store of O are on by default"
    assert m.K3_LEAD == 2, "with K3 on, K two blocks ahead of V unless CUTE_ATTN_PAGED_K3_LEAD=1"
    assert m.BOX_LEAN == frozenset() and not (m.BOX_ASM or m.BOX_STRIDE or m.BOX_VFULL), "CUTE_ATTN_PAGED_BOX_LEAN off"
    return m


@pytest.mark.parametrize("paths", ["", "gather", "box", "gather,box"])
def test_kernel_stage_counts(paged_module, monkeypatch, paths):
    m = paged_module
    monkeypatch.setattr(m, "K3_PATHS", frozenset(filter(None, paths.split(","))))
    for hd, box in ((64, 0), (64, 16), (128, 0), (128, 16), (128, 64), (256, 0), (256, 16)):
        op = m.PrefillPagedSm90("bf16", hd, hd, True, box)
        on = ("box" if box else "gather") in m.K3_PATHS and hd <= m.K3_MAX_HEAD_DIM
        assert (op.k_stages, op.v_stages) == ((3, 2) if on else (2, 2)), (hd, box)
        assert op.k_lead == (2 if on else 1)
        table = prefill_config(hd, hd, True, paged=True, paged_keep=("trim_diagonal", "tma_store_o"))
        assert (op.trim_diagonal, op._tma_store_o_cfg) == (table.trim_diagonal, table.tma_store_o), (hd, box)
        if hd == 128:  # the case measured (NOTES-prefill-paged 15): both on
            assert op.trim_diagonal and op._tma_store_o_cfg
        assert op._separate_o_cfg == (hd <= 128)


def test_k3_lead_one(paged_module, monkeypatch):
    m = paged_module
    monkeypatch.setattr(m, "K3_PATHS", frozenset({"gather"}))
    monkeypatch.setattr(m, "K3_LEAD", 1)
    op = m.PrefillPagedSm90("bf16", 128, 128, True, 0)
    assert (op.k_stages, op.v_stages, op.k_lead) == (3, 2, 1)


def test_kernel_keeps_dense_features(paged_module, monkeypatch):
    m = paged_module
    monkeypatch.setattr(m, "PAGED_KEEP", ("trim_diagonal", "tma_store_o"))
    op = m.PrefillPagedSm90("bf16", 128, 128, True, 0)
    assert op.trim_diagonal == 1 and op._tma_store_o_cfg
    assert not m.PrefillPagedSm90("bf16", 128, 128, False, 0).trim_diagonal  # causal only


@pytest.mark.compile
@pytest.mark.parametrize("lead", [1, 2])
def test_switched_gather_kernel_compiles(paged_module, monkeypatch, lead):
    """hd128 causal bf16 gathers with all switches on (3 K stages, K 1 or 2 blocks ahead of V, trim, TMA store of O)
    compile for sm_90a."""
    from cute_attn.specs import PrefillPagedSpec

    m = paged_module
    monkeypatch.setattr(m, "K3_PATHS", frozenset({"gather", "box"}))
    monkeypatch.setattr(m, "K3_LEAD", lead)
    monkeypatch.setattr(m, "PAGED_KEEP", ("trim_diagonal", "tma_store_o"))
    spec = PrefillPagedSpec(dtype="bf16", head_dim=128, head_dim_v=128, causal=True, tma_box_rows=0)
    assert m.compile_prefill_paged(spec) is not None


@pytest.mark.compile
@pytest.mark.parametrize("lean", ["asm,stride,vfull", "asm,vfull"])
@pytest.mark.parametrize("hd,box", [(128, 16), (128, 64), (64, 16), (256, 16)])
def test_box_lean_kernel_compiles(paged_module, monkeypatch, lean, hd, box):
    """The TMA-box kernels with CUTE_ATTN_PAGED_BOX_LEAN (NOTES 14) compile for sm_90a: hd128 box 16 (8 boxes, 4 box
    warps, 2 per warp), box 64 (2 boxes, one warp), hd64 box 16 (7 boxes: warp 3 has one, the stride's guarded
    second box), hd256 box 16 (4 column blocks per box)."""
    from cute_attn.specs import PrefillPagedSpec

    m = paged_module
    parts = set(lean.split(","))
    monkeypatch.setattr(m, "BOX_ASM", "asm" in parts)
    monkeypatch.setattr(m, "BOX_STRIDE", "stride" in parts)
    monkeypatch.setattr(m, "BOX_VFULL", "vfull" in parts)
    spec = PrefillPagedSpec(dtype="bf16", head_dim=hd, head_dim_v=hd, causal=True, tma_box_rows=box)
    assert m.compile_prefill_paged(spec) is not None
