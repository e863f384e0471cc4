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
    assert cfg.stages == (3 if hd == 128 else 2)  # (hd128: the dense 192 x 80 row's 3 stages since session 18)
    kv = 2 * (cfg.tile_m * hd + cfg.stages * cfg.tile_n * (hd + hd))
    assert prefill_smem_bytes(cfg, hd, hd, False) == kv + 1024
    assert prefill_smem_bytes(cfg, hd, hd, True) == kv + 2 * cfg.tile_m * hd + 2048
    assert cfg.separate_o == (kv + 2 * cfg.tile_m * hd + 2048 <= SMEM_LIMIT_BYTES)


def test_paged_keep():
    for tile_m in (128, 0):  # the dense kernel's tiles that the paged kernel shares (128 x 128; 192 x 80 since session 18)
        dense = prefill_config(128, 128, True, tile_m)
        assert dense.trim_diagonal and dense.tma_store_o
        off = prefill_config(128, 128, True, tile_m, paged=True)
        assert {f: getattr(off, f) for f in PAGED_OFF} == PAGED_OFF
        keep = prefill_config(128, 128, True, tile_m, paged=True, paged_keep=("trim_diagonal", "tma_store_o"))
        assert keep == dense
        assert prefill_config(128, 128, True, tile_m, paged=True, paged_keep=("trim_diagonal",)) == dataclasses.replace(
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
        tile_m = 128 if hd == 128 else 0  # (hd128's 128 x 128 short variant: the case of NOTES 15)
        op = m.PrefillPagedSm90("bf16", hd, hd, True, box, tile_m)
        assert op.stages == 2, (hd, box)
        table = prefill_config(hd, hd, True, tile_m, paged=True, paged_keep=("trim_diagonal", "tma_store_o"))
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
    spec = PrefillPagedSpec(dtype="bf16", head_dim=128, head_dim_v=128, causal=True, tile_m=128, tma_box_rows=box)
    assert m.compile_prefill_paged(spec) is not None
def test_double_p_follows_config(paged_module):
    """The paged kernel runs the dense config's double-buffered P wherever the table has it (hd128, hd192; session 7,
    bench/NOTES-prefill-paged.md 18), the gathers then at the NARROW budget (40 / 232: at 216 the double-buffered
    consumers spill); elsewhere one P buffer and the old budgets."""
    m = paged_module
    for hd, box in ((64, 0), (64, 16), (128, 0), (128, 16), (128, 64), (256, 0), (256, 16)):
        for causal in (False, True):
            tile_m = 128 if hd == 128 else 0  # (hd128's 128 x 128 variant; its 192 x 80 one below)
            op = m.PrefillPagedSm90("bf16", hd, hd, causal, box, tile_m)
            cfg = prefill_config(hd, hd, causal, tile_m, paged=True)
            assert bool(op._double_p_cfg) == bool(cfg.double_p), (hd, box, causal)
            if hd == 128:
                assert op._double_p_cfg, (box, causal)
                assert (op.producer_regs, op.consumer_regs) == (40, 232), (box, causal)
                if box != 64:  # the 192 x 80 table tile: one P buffer, three consumer warpgroups at 160
                    op = m.PrefillPagedSm90("bf16", hd, hd, causal, box)
                    assert not op._double_p_cfg and (op.producer_regs, op.consumer_regs) == (32, 160)
    assert not m.PrefillPagedSm90("bf16", 64, 64, True, 0)._double_p_cfg
    assert not m.PrefillPagedSm90("bf16", 256, 256, False, 16)._double_p_cfg


@pytest.mark.compile
@pytest.mark.parametrize("box", [0, 64])
def test_double_p_kernel_compiles(paged_module, monkeypatch, box):
    """hd128 causal bf16 (gathers and box 64) compile for sm_90a with the double-buffered P (the attribute the
    consumers read at launch)."""
    from cute_attn.specs import PrefillPagedSpec

    spec = PrefillPagedSpec(dtype="bf16", head_dim=128, head_dim_v=128, causal=True, tile_m=128, tma_box_rows=box)
    seen = {}
    orig = paged_module.PrefillPagedSm90._launch

    def launch(self, *a, **k):
        seen["double_p"] = self.double_p
        return orig(self, *a, **k)

    monkeypatch.setattr(paged_module.PrefillPagedSm90, "_launch", launch)
    assert paged_module.compile_prefill_paged(spec) is not None
    assert seen == {"double_p": True}


# ---------------------------------------------------------------------------------------------------------------
# CUTE_ATTN_PAGED_KV_INTERLEAVE (session 9, bench/NOTES-prefill-paged.md 20): one TMA box per page piece


def test_kv_interleave_default_on(paged_module, monkeypatch):
    m = paged_module
    assert m.KV_INTERLEAVE is True
    monkeypatch.delenv("CUTE_ATTN_PAGED_KV_INTERLEAVE", raising=False)
    assert m._kv_interleave_switch() is True
    monkeypatch.setenv("CUTE_ATTN_PAGED_KV_INTERLEAVE", "0")
    assert m._kv_interleave_switch() is False
    monkeypatch.setattr(m, "KV_INTERLEAVE", False)
    for hd, box in ((64, 16), (128, 0), (128, 16), (128, 64), (256, 16)):
        assert not m.PrefillPagedSm90("bf16", hd, hd, True, box, 128 if hd == 128 else 0).kv_interleave, (hd, box)


@pytest.mark.parametrize("value", ["2", "yes", "-1", " 1"])
def test_kv_interleave_refused(paged_module, monkeypatch, value):
    monkeypatch.setenv("CUTE_ATTN_PAGED_KV_INTERLEAVE", value)
    with pytest.raises(ValueError, match="CUTE_ATTN_PAGED_KV_INTERLEAVE"):
        paged_module._kv_interleave_switch()


def test_kv_interleave_scope(paged_module, monkeypatch):
    """On: the TMA-box variants with two or more 128-byte column halves (hd128, hd256); the gathers and hd64 keep the
    old stage layout. The interleaved stage: 8-row groups of all halves side by side, a 16-row page piece one
    contiguous 4 KiB (hd128) / 8 KiB (hd256) run; a box is (64, 8, halves, box_rows / 8)."""
    m = paged_module
    monkeypatch.setenv("CUTE_ATTN_PAGED_KV_INTERLEAVE", "1")
    assert m._kv_interleave_switch() is True
    monkeypatch.setattr(m, "KV_INTERLEAVE", True)
    for dtype in ("bf16", "fp16"):
        for hd, box, on in ((64, 0, False), (64, 16, False), (64, 64, False), (128, 0, False), (128, 16, True),
                            (128, 64, True), (256, 0, False), (256, 16, True)):
            # (the variants that exist: hd64 box 64 is non-causal only)
            op = m.PrefillPagedSm90(dtype, hd, hd, hd != 64, box, 128 if box == 64 and hd == 128 else 0)
            assert op.kv_interleave == on, (dtype, hd, box)
            if on:
                assert op._ibox_shape() == (64, 8, hd // 64, box // 8)


def test_kv_interleave_layout(paged_module, monkeypatch):
    """The interleaved stage layout's offsets (elements, before the swizzle, which permutes 16-byte chunks inside
    each 128-byte row): row r, column c of stage s at s * stage + (r // 8) * 8 * hd + (c // 64) * 512 + (r % 8) * 64
    + c % 64; and the box order maps (64, 8, halves, groups) onto the box's rows contiguously."""
    import cutlass.cute as cute

    m = paged_module
    monkeypatch.setattr(m, "KV_INTERLEAVE", True)
    for hd in (128, 256):
        op = m.PrefillPagedSm90("bf16", hd, hd, True, 16)
        seen = {}

        @cute.jit
        def probe():
            _, sK, sV, _ = op._layouts()
            for lay, key in ((sK, "k"), (sV, "v")):
                outer = lay.outer
                seen[key] = [cute.crd2idx((r, c, s), outer) for (r, c, s) in
                             ((0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 64, 0), (8, 0, 0), (16, 0, 0), (9, 65, 1))]
            box = cute.composition(cute.composition(cute.select(sK.outer, mode=[0, 1]),
                                                    (cute.make_layout(16), cute.make_layout(hd))), op._ibox_order())
            seen["box"] = [cute.crd2idx(x, box) for x in ((1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1))]
            seen["box_size"] = cute.size(box)
            seen["box_cosize"] = cute.cosize(box)

        probe()
        stage = op.tile_n * hd  # (hd256: 80 rows)
        want = [0, 64, 1, 512, 8 * hd, 16 * hd, stage + 8 * hd + 512 + 64 + 1]
        assert [int(x) for x in seen["k"]] == want, (hd, seen["k"])
        assert [int(x) for x in seen["v"]] == want, (hd, seen["v"])
        assert [int(x) for x in seen["box"]] == [1, 64, 512, 8 * hd], (hd, seen["box"])
        assert int(seen["box_size"]) == int(seen["box_cosize"]) == 16 * hd  # one contiguous run


@pytest.mark.parametrize("layout", ["NHD", "HND", "stacked", "padded", "bad"])
def test_kv_interleave_host_strides(monkeypatch, layout):
    """The run-time guard: with the switch set, TMA-box plans need page stride % (8 row strides) == 0."""
    torch = pytest.importorskip("torch")
    from cute_attn.prefill_paged import check_interleave_strides
    from cute_attn.specs import PrefillPagedSpec

    pages, ps, h, d = 5, 16, 4, 128
    if layout == "NHD":
        k = torch.empty(pages, ps, h, d)
    elif layout == "HND":
        k = torch.empty(pages, h, ps, d).transpose(1, 2)
    elif layout == "stacked":
        k = torch.empty(pages, 2, ps, h, d)[:, 0]
    elif layout == "padded":
        k = torch.empty(pages, ps, h, d + 64)[..., :d]
    else:  # a page stride of 16 rows + 8 elements: not a whole number of 8-row groups
        k = torch.empty(pages * (ps * h * d + 8))[: (pages - 1) * (ps * h * d + 8) + ps * h * d].as_strided(
            (pages, ps, h, d), (ps * h * d + 8, h * d, d, 1))
    box = PrefillPagedSpec(dtype="bf16", head_dim=d, head_dim_v=d, causal=True, tma_box_rows=16)
    gathers = PrefillPagedSpec(dtype="bf16", head_dim=d, head_dim_v=d, causal=True, tma_box_rows=0)
    hd64 = PrefillPagedSpec(dtype="bf16", head_dim=64, head_dim_v=64, causal=True, tma_box_rows=16)
    monkeypatch.setenv("CUTE_ATTN_PAGED_KV_INTERLEAVE", "0")
    check_interleave_strides(box, k)  # a build without it: no check
    monkeypatch.delenv("CUTE_ATTN_PAGED_KV_INTERLEAVE", raising=False)  # the default: on
    check_interleave_strides(gathers, k)  # the gathers never use it
    if layout == "bad":
        with pytest.raises(ValueError, match="multiple of 8 row strides"):
            check_interleave_strides(box, k)
        # hd64's box variants address the rows as 8-row groups too (session 17: layouts.paged.kv_grouped)
        with pytest.raises(ValueError, match="multiple of 8 row strides"):
            check_interleave_strides(hd64, k[..., :64])
    else:
        check_interleave_strides(box, k)
        check_interleave_strides(hd64, k[..., :64])


@pytest.mark.compile
@pytest.mark.parametrize("box", [16, 64])
def test_kv_interleave_kernel_compiles(paged_module, monkeypatch, box):
    """hd128 causal bf16 box 16 / 64 compile with the switch on (the wgmma descriptors of the interleaved stages, the
    5-d TMA atoms)."""
    from cute_attn.specs import PrefillPagedSpec

    monkeypatch.setattr(paged_module, "KV_INTERLEAVE", True)
    spec = PrefillPagedSpec(dtype="bf16", head_dim=128, head_dim_v=128, causal=True, tile_m=128, tma_box_rows=box)
    assert paged_module.compile_prefill_paged(spec) is not None


def test_removed_switches_refuse_a_build(monkeypatch):
    """A build-time switch that was measured and removed stops the import (``refuse_removed_switches``, used by the
    paged prefill and decode kernels) instead of building the default kernel under an A/B label."""
    from cute_attn.kernels.common.config import refuse_removed_switches

    names = ("CUTE_ATTN_PAGED_BOX_REGS", "CUTE_ATTN_DECODE_HEADS")
    for name in names:
        monkeypatch.delenv(name, raising=False)
    refuse_removed_switches(names, "notes")
    monkeypatch.setenv("CUTE_ATTN_DECODE_HEADS", "8")
    with pytest.raises(ValueError, match=r"CUTE_ATTN_DECODE_HEADS was removed \(notes\)"):
        refuse_removed_switches(names, "notes")
