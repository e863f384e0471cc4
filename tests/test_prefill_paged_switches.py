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
    dense = prefill_config(128, 128, True, 128)  # the dense kernel's tile that the paged kernel shares (128 x 128)
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
def test_double_p_follows_config(paged_module):
    """The paged kernel runs the dense config's double-buffered P wherever the table has it (hd128, hd192; session 7,
    bench/NOTES-prefill-paged.md 18), the gathers then at the NARROW budget (40 / 232: at 216 the double-buffered
    consumers spill); elsewhere one P buffer and the old budgets."""
    m = paged_module
    for hd, box in ((64, 0), (64, 16), (128, 0), (128, 16), (128, 64), (256, 0), (256, 16)):
        for causal in (False, True):
            op = m.PrefillPagedSm90("bf16", hd, hd, causal, box)
            cfg = prefill_config(hd, hd, causal, paged=True)
            assert bool(op._double_p_cfg) == bool(cfg.double_p), (hd, box, causal)
            if hd == 128:
                assert op._double_p_cfg, (box, causal)
                assert (op.producer_regs, op.consumer_regs) == (40, 232), (box, causal)
    assert not m.PrefillPagedSm90("bf16", 64, 64, True, 0)._double_p_cfg
    assert not m.PrefillPagedSm90("bf16", 256, 256, False, 16)._double_p_cfg


@pytest.mark.compile
@pytest.mark.parametrize("box", [0, 64])
def test_double_p_kernel_compiles(paged_module, monkeypatch, box):
    """hd128 causal bf16 (gathers and box 64) compile for sm_90a with the double-buffered P (the attribute the
    consumers read at launch)."""
    from cute_attn.specs import PrefillPagedSpec

    spec = PrefillPagedSpec(dtype="bf16", head_dim=128, head_dim_v=128, causal=True, tma_box_rows=box)
    seen = {}
    orig = paged_module.PrefillPagedSm90._launch

    def launch(self, *a, **k):
        seen["double_p"] = self.double_p
        return orig(self, *a, **k)

    monkeypatch.setattr(paged_module.PrefillPagedSm90, "_launch", launch)
    assert paged_module.compile_prefill_paged(spec) is not None
    assert seen == {"double_p": True}
