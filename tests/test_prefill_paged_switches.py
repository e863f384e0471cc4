"""CPU checks of the paged prefill's build-time switches (bench/NOTES-prefill-paged.md 13, 15, 16): the shared memory
budget, the paged config's kept dense features (``CUTE_ATTN_PAGED_TRIM`` / ``CUTE_ATTN_PAGED_TMA_STORE_O``, on by
default), the kernel's config under each (the module global the env vars set at import), and, with the DSL, that the
kernel with both off compiles."""

import dataclasses

import pytest

from cute_attn.kernels.common.config import (
    PAGED_OFF,
    SMEM_LIMIT_BYTES,
    prefill_config,
    prefill_smem_bytes,
)


@pytest.mark.parametrize("hd", [64, 128, 256])
@pytest.mark.parametrize("causal", [False, True])
def test_smem_formula(hd, causal):
    cfg = prefill_config(hd, hd, causal, paged=True)
    assert cfg.stages == 2
    kv = 2 * (cfg.tile_m * hd + 2 * cfg.tile_n * (hd + hd))
    assert prefill_smem_bytes(cfg, hd, hd, False) == kv + 1024
    assert prefill_smem_bytes(cfg, hd, hd, True) == kv + 2 * cfg.tile_m * hd + 2048
    assert cfg.separate_o == (kv + 2 * cfg.tile_m * hd + 2048 <= SMEM_LIMIT_BYTES)


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

    assert m.PAGED_KEEP == ("trim_diagonal", "tma_store_o"), "the trim and the TMA store of O are on by default"
    return m


def test_kernel_config(paged_module):
    m = paged_module
    for hd, box in ((64, 0), (64, 16), (128, 0), (128, 16), (128, 64), (256, 0), (256, 16)):
        op = m.PrefillPagedSm90("bf16", hd, hd, True, box)
        assert op.stages == 2, (hd, box)
        table = prefill_config(hd, hd, True, paged=True, paged_keep=("trim_diagonal", "tma_store_o"))
        assert (op.trim_diagonal, op._tma_store_o_cfg) == (table.trim_diagonal, table.tma_store_o), (hd, box)
        if hd == 128:  # the case measured (NOTES-prefill-paged 15): both on
            assert op.trim_diagonal and op._tma_store_o_cfg
        assert op._separate_o_cfg == (hd <= 128)


def test_kernel_paged_keep(paged_module, monkeypatch):
    m = paged_module
    monkeypatch.setattr(m, "PAGED_KEEP", ())
    op = m.PrefillPagedSm90("bf16", 128, 128, True, 0)
    assert op.trim_diagonal == 0 and not op._tma_store_o_cfg
    monkeypatch.setattr(m, "PAGED_KEEP", ("trim_diagonal", "tma_store_o"))
    op = m.PrefillPagedSm90("bf16", 128, 128, True, 0)
    assert op.trim_diagonal == 1 and op._tma_store_o_cfg
    assert not m.PrefillPagedSm90("bf16", 128, 128, False, 0).trim_diagonal  # causal only


@pytest.mark.compile
@pytest.mark.parametrize("box", [0, 16])
def test_kernel_without_kept_features_compiles(paged_module, monkeypatch, box):
    """hd128 causal bf16 gathers / box 16 with CUTE_ATTN_PAGED_TRIM=0 and CUTE_ATTN_PAGED_TMA_STORE_O=0 (the
    pre-session-6 paged kernel; the defaults compile in the build tests) compile for sm_90a."""
    from cute_attn.specs import PrefillPagedSpec

    m = paged_module
    monkeypatch.setattr(m, "PAGED_KEEP", ())
    spec = PrefillPagedSpec(dtype="bf16", head_dim=128, head_dim_v=128, causal=True, tma_box_rows=box)
    assert m.compile_prefill_paged(spec) is not None


# ---- CUTE_ATTN_PAGED_ROW_TMA (page 1 by 1-row TMA boxes, off by default; bench/NOTES-prefill-paged.md 17)


def _paged_names(env_value):
    import os
    import subprocess
    import sys

    env = dict(os.environ)
    env.pop("CUTE_ATTN_PAGED_ROW_TMA", None)
    if env_value is not None:
        env["CUTE_ATTN_PAGED_ROW_TMA"] = env_value
    code = "from cute_attn.specs import shipped_specs; print(' '.join(s.name for s in shipped_specs()))"
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True).stdout
    return out.split()


def test_row_tma_manifest():
    """Off (unset or "0"): the shipped variants are the 30 paged ones of before; on: plus the 12 row-box variants
    (bf16 / fp16, hd64 / 128 / 256, causal and not), nothing else changed."""
    off = _paged_names(None)
    assert off == _paged_names("0")
    assert not any("tmaboxrows1_" in n for n in off)
    assert sum(n.startswith("prefill_paged_") for n in off) == 30
    on = _paged_names("1")
    assert _paged_names("asm") == on
    new = [n for n in on if n not in off]
    assert [n for n in on if n in off] == off
    assert len(new) == 12 and all(n.startswith("prefill_paged_") and "_tmaboxrows1_" in n for n in new)


def test_row_tma_host_choice():
    from cute_attn.layouts.paged import tma_box_rows
    from cute_attn.specs import PAGED_ROW_TMA, PrefillPagedSpec

    assert not PAGED_ROW_TMA, "the switch is off by default"
    for tile_n in (128, 112, 80):
        assert tma_box_rows(1, tile_n) == 0 and tma_box_rows(1, tile_n, True) == 1
        for ps in (2, 3, 5, 8, 16, 48, 64, 128):  # only page 1 moves
            assert tma_box_rows(ps, tile_n, True) == tma_box_rows(ps, tile_n)
    spec = PrefillPagedSpec(dtype="bf16", head_dim=128, head_dim_v=128, causal=True, tma_box_rows=1)
    assert spec.name == "prefill_paged_bf16_headdim128_headdimv128_causal_tmaboxrows1_sm90a"


def test_row_tma_plan(monkeypatch):
    """With the switch (the host module's copy), page 1 plans onto the row boxes; other page sizes as before."""
    torch = pytest.importorskip("torch")
    import cute_attn.prefill_paged as pp

    def box(ps, row_tma):
        monkeypatch.setattr(pp, "PAGED_ROW_TMA", row_tma)
        lens = [5, 300]
        pages = [(n + ps - 1) // ps for n in lens]
        indptr = [0, pages[0], pages[0] + pages[1]]
        last = [(n - 1) % ps + 1 for n in lens]
        plan = pp.plan_paged([0, 5, 305], indptr, list(range(indptr[-1])), last, 4, 2, 128, ps, True, None,
                             torch.bfloat16, None, torch.device("cpu"))
        return plan.spec.tma_box_rows

    assert (box(1, False), box(1, True)) == (0, 1)
    assert (box(3, True), box(16, True), box(64, True)) == (0, 16, 64)


def test_row_tma_kernel_geometry(paged_module):
    m = paged_module
    for hd, causal in ((64, False), (64, True), (128, True), (256, False)):
        op = m.PrefillPagedSm90("bf16", hd, hd, causal, 1)
        assert op.row_boxes and op.box_warps == 4 and op.boxes == op.tile_n
        assert op.row_warp_rows * 4 == op.tile_n and op.row_warp_rows <= 32
        assert (op.producer_regs, op.consumer_regs) == m.NARROW_REGISTER_BUDGET[op.consumer_wgs]
    assert not m.PrefillPagedSm90("bf16", 128, 128, True, 16).row_boxes


@pytest.mark.compile
@pytest.mark.parametrize("asm", [False, True])
def test_row_tma_kernel_compiles(paged_module, monkeypatch, asm):
    """hd128 causal bf16 with 1-row boxes, issued through cute.copy (``CUTE_ATTN_PAGED_ROW_TMA=1``) or hand-issued
    (``=asm``), compiles for sm_90a (the build compiles all 12 of each with the switch on)."""
    from cute_attn.specs import PrefillPagedSpec

    assert not paged_module.ROW_TMA_ASM, "off by default"
    monkeypatch.setattr(paged_module, "ROW_TMA_ASM", asm)
    spec = PrefillPagedSpec(dtype="bf16", head_dim=128, head_dim_v=128, causal=True, tma_box_rows=1)
    assert paged_module.compile_prefill_paged(spec) is not None


# ---- CUTE_ATTN_PAGED_DOUBLE_P (the dense kernel's double-buffered P in the paged kernel, off by default;
# bench/NOTES-prefill-paged.md 18)


def test_double_p_default_off(paged_module):
    m = paged_module
    assert m.PAGED_DOUBLE_P == "0", "off by default"
    for hd, box in ((64, 0), (64, 16), (128, 0), (128, 1), (128, 16), (128, 64), (256, 0), (256, 16)):
        for causal in (False, True):
            op = m.PrefillPagedSm90("bf16", hd, hd, causal, box)
            assert not op._paged_double_p(), (hd, box, causal)
            if hd == 128:  # main's budgets: WIDE gathers, NARROW boxes
                assert (op.producer_regs, op.consumer_regs) == ((72, 216) if box == 0 else (40, 232)), (box, causal)


def test_double_p_choice(paged_module, monkeypatch):
    m = paged_module
    monkeypatch.setattr(m, "PAGED_DOUBLE_P", "box")
    for causal in (False, True):
        # hd128's table row has double_p; the box paths take it, the gathers (216 registers) keep one P buffer
        assert m.PrefillPagedSm90("bf16", 128, 128, causal, 16)._paged_double_p()
        assert m.PrefillPagedSm90("fp16", 128, 128, causal, 64)._paged_double_p()
        assert not m.PrefillPagedSm90("bf16", 128, 128, causal, 0)._paged_double_p()
        # hd64 / hd256 rows have no double_p: unchanged
        assert not m.PrefillPagedSm90("bf16", 64, 64, causal, 16)._paged_double_p()
        assert not m.PrefillPagedSm90("bf16", 256, 256, causal, 16)._paged_double_p()
    assert m.PrefillPagedSm90("bf16", 128, 128, True, 16).consumer_regs == 232
    assert m.PrefillPagedSm90("bf16", 128, 128, True, 0).consumer_regs == 216  # WIDE gathers, one P buffer
    monkeypatch.setattr(m, "PAGED_DOUBLE_P", "all")
    op = m.PrefillPagedSm90("bf16", 128, 128, True, 0)
    assert op._paged_double_p() and (op.producer_regs, op.consumer_regs) == (40, 232), "gathers: NARROW with it"
    for causal in (False, True):  # hd64 / hd256: no double_p in the table, budgets unchanged
        for hd in (64, 256):
            op = m.PrefillPagedSm90("bf16", hd, hd, causal, 0)
            monkeypatch.setattr(m, "PAGED_DOUBLE_P", "0")
            off = m.PrefillPagedSm90("bf16", hd, hd, causal, 0)
            monkeypatch.setattr(m, "PAGED_DOUBLE_P", "all")
            assert not op._paged_double_p() and (op.producer_regs, op.consumer_regs) == (
                off.producer_regs, off.consumer_regs), (hd, causal)


@pytest.mark.compile
@pytest.mark.parametrize("value, box", [("box", 64), ("all", 0)])
def test_double_p_kernel_compiles(paged_module, monkeypatch, value, box):
    """hd128 causal bf16 box 64 with ``CUTE_ATTN_PAGED_DOUBLE_P=box`` and the gathers with ``=all`` compile for
    sm_90a, and the launch took the double-buffered P (the attribute the consumers read)."""
    from cute_attn.specs import PrefillPagedSpec

    monkeypatch.setattr(paged_module, "PAGED_DOUBLE_P", value)
    spec = PrefillPagedSpec(dtype="bf16", head_dim=128, head_dim_v=128, causal=True, tma_box_rows=box)
    seen = {}
    orig = paged_module.PrefillPagedSm90._launch

    def launch(self, *a, **k):
        seen["double_p"] = self.double_p
        return orig(self, *a, **k)

    monkeypatch.setattr(paged_module.PrefillPagedSm90, "_launch", launch)
    assert paged_module.compile_prefill_paged(spec) is not None
    assert seen == {"double_p": True}
