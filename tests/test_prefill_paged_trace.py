"""CPU checks of the prefill TRACE build's host side (bench/prefill_paged_trace.py): its word layout mirrors the
kernel's ``Tr``, and its per-CTA durations on a synthetic area (clock wrapping through 2**32)."""

import numpy as np
import pytest

from bench import prefill_paged_trace as pt


def test_layout_mirrors_kernel():
    pytest.importorskip("cutlass")
    from cute_attn.kernels.prefill_sm90 import TRACE, TRACE_K_COLS, TRACE_V_COLS, Tr

    assert not TRACE, "the trace switch must be off by default"
    assert (Tr.HEADER, Tr.REC, Tr.BLOCKS, Tr.CTA_WORDS) == (pt.TR_HEADER, pt.TR_REC, pt.TR_BLOCKS, pt.TR_CTA_WORDS)
    assert (Tr.SMID, Tr.P_GT0, Tr.P_CLK0, Tr.C_GT0, Tr.C_CLK0, Tr.C_GT1, Tr.C_CLK1, Tr.P_COUNT, Tr.C_COUNT,
            Tr.ROUNDS) == tuple(range(10))
    assert (pt.H_SMID, pt.H_P_GT0, pt.H_P_CLK0, pt.H_C_GT0, pt.H_C_CLK0, pt.H_C_GT1, pt.H_C_CLK1, pt.H_P_COUNT,
            pt.H_C_COUNT, pt.H_ROUNDS) == tuple(range(10))
    rec = (Tr.TILE, Tr.NBLK, Tr.PK_WAIT, Tr.PK_GOT, Tr.PK_FIRST, Tr.PK_LAST, Tr.PV_GOT, Tr.PV_LAST)
    assert rec == (pt.R_TILE, pt.R_NBLK, pt.R_PK_WAIT, pt.R_PK_GOT, pt.R_PK_FIRST, pt.R_PK_LAST, pt.R_PV_GOT,
                   pt.R_PV_LAST)
    assert (Tr.CK_WAIT, Tr.CK_GOT, Tr.CK_REL, Tr.CV_GOT) == (pt.R_CK_WAIT, pt.R_CK_GOT, pt.R_CK_REL, pt.R_CV_GOT)
    assert (Tr.PKW_LAST, Tr.PKW_GOT, Tr.CV_WAIT) == (pt.R_PKW_LAST, pt.R_PKW_GOT, pt.R_CV_WAIT)
    cols = list(rec) + [c + 3 * w for c in (Tr.CK_WAIT, Tr.CK_GOT, Tr.CK_REL) for w in (0, 1)]
    cols += [Tr.CV_GOT, Tr.CV_GOT + 1, Tr.CV_WAIT, Tr.CV_WAIT + 1]
    cols += [c + w for c in (Tr.PKW_LAST, Tr.PKW_GOT) for w in range(3)]
    assert sorted(cols) == list(range(Tr.REC)), "every record word has one writer"
    assert TRACE_K_COLS == (Tr.PK_WAIT, Tr.PK_GOT, Tr.PK_FIRST, Tr.PK_LAST)
    assert TRACE_V_COLS == (None, Tr.PV_GOT, None, Tr.PV_LAST)


def _synthetic(n=8, per_tile=4, clk0=2**32 - 3000):
    area = np.zeros(pt.TR_CTA_WORDS, dtype=np.int64)
    area[pt.H_P_CLK0] = clk0
    area[pt.H_C_CLK1] = clk0 + 20000
    area[pt.H_P_GT0] = 5000
    area[pt.H_C_GT1] = 15000
    area[pt.H_P_COUNT] = area[pt.H_C_COUNT] = n
    area[pt.H_SMID] = 7
    for k in range(n):
        r = pt.TR_HEADER + k * pt.TR_REC
        base = clk0 + 1000 * k
        area[r + pt.R_TILE] = k // per_tile
        area[r + pt.R_NBLK] = per_tile - 1 - k % per_tile
        area[r + pt.R_PK_WAIT] = base
        area[r + pt.R_PK_GOT] = base + 100
        area[r + pt.R_PK_FIRST] = base + 110
        area[r + pt.R_PK_LAST] = base + 300
        for w in (0, 1):
            area[r + pt.R_CK_WAIT + 3 * w] = base + 400
            area[r + pt.R_CK_GOT + 3 * w] = base + 600 + 10 * w
            area[r + pt.R_CK_REL + 3 * w] = base + 800 + 5 * w
            area[r + pt.R_CV_GOT + w] = base + 1650 + w
            area[r + pt.R_CV_WAIT + w] = base + 1620
        for w in range(3):
            area[r + pt.R_PKW_GOT + w] = base + 101
            area[r + pt.R_PKW_LAST + w] = base + 310 + 20 * w
    return (area & 0xFFFFFFFF).astype(np.uint32).view(np.int32)


def test_cta_stats_synthetic():
    s = pt.cta_stats(_synthetic())
    assert s["blocks"] == 8 and s["first_blocks"] == 2
    assert s["ns_per_cycle"] == pytest.approx(0.5)
    assert sorted(set(s["c_kwait"])) == [200, 210]
    assert set(s["p_emptywait"]) == {100}
    assert set(s["p_issue"]) == {190}
    assert set(s["step"]) == {1000} and len(s["step"]) == 6
    assert sorted(set(s["c_vwait"])) == [30, 31] and len(s["c_vwait"]) == 16
    assert set(s["p_last_to_cgot"]) == {300}
    assert set(s["p_issue_all"]) == {350 - 110}
    assert set(s["p_warp_skew"]) == {50}
    assert set(s["p_last_all_to_cgot"]) == {600 - 350}
    # block k's stage (released at base_k + 805) carries block k + 2
    assert set(s["rel_to_pacq"]) == {2100 - 805} and len(s["rel_to_pacq"]) == 6
    assert set(s["roundtrip"]) == {2600 - 805}
    assert set(s["budget"]) == {2400 - 805}
    # steady pairs: (1, 3) and (5, 7)
    assert len(s["roundtrip/steady"]) == 2


def test_tile_start_stats():
    """Session 7: the tile-start stats (record 4 is tile 1's first K block; record 3 holds tile 0's last V)."""
    area = _synthetic().astype(np.int64)
    clk0 = int(area[pt.H_P_CLK0]) & 0xFFFFFFFF
    for k in range(8):
        area[pt.TR_HEADER + k * pt.TR_REC + pt.R_PV_LAST] = clk0 + 1000 * k + 900
    s = pt.cta_stats((area & 0xFFFFFFFF).astype(np.uint32).view(np.int32))
    assert sorted(s["c_kwait/first"]) == [200, 210]  # record 0 (the CTA's first tile) is left out
    assert list(s["p_tile_setup"]) == [4000 - 3900]
    assert list(s["p_emptywait/first"]) == [100]
    assert list(s["p_first_k"]) == [4110 - 3900]


def test_single_warp_producer_has_no_warp_stats():
    area = _synthetic().astype(np.int64)
    for k in range(8):
        r = pt.TR_HEADER + k * pt.TR_REC
        area[r + pt.R_PKW_LAST:r + pt.R_PKW_LAST + 3] = 0  # dense / box 64: producer warp 0 alone
    s = pt.cta_stats(area.astype(np.int32))
    assert len(s["p_issue_all"]) == len(s["p_warp_skew"]) == len(s["p_last_all_to_cgot"]) == 0
    assert set(s["p_issue"]) == {190}


def test_summarize_pools_launches():
    area = np.stack([_synthetic(), _synthetic(clk0=12345)])
    res = pt.summarize([area, area])
    assert res["sms"] == 1
    assert res["blocks_per_launch"] == 16
    assert res["roundtrip"]["cyc"][1] == 1795 and res["roundtrip"]["ns"][1] == pytest.approx(897.5)
    assert res["c_kwait_waited_frac"] == 1.0


def test_traced_launch_arguments_cpu():
    """The traced launches pass the API's arguments, with an LSE whose trace words follow it in one buffer (CPU
    plans, a stand-in kernel)."""
    import torch

    import cute_attn

    heads, d, lens, ps = 2, 128, [300, 200], 16
    qo = [0, 300, 500]
    q = torch.zeros(500, heads, d, dtype=torch.bfloat16)
    out = torch.zeros_like(q)
    pages = [(n + ps - 1) // ps for n in lens]
    cache = tuple(torch.zeros(sum(pages), ps, heads, d, dtype=torch.bfloat16) for _ in range(2))
    indptr = torch.tensor([0, pages[0], sum(pages)], dtype=torch.int32)
    last = torch.tensor([(n - 1) % ps + 1 for n in lens], dtype=torch.int32)
    w = cute_attn.BatchPrefillWithPagedKVCacheWrapper(device="cpu")
    w.plan(qo, indptr, torch.arange(sum(pages), dtype=torch.int32), last, heads, heads, d, ps, causal=True)
    seen = {}

    def build(spec):
        seen["spec"] = spec.name
        return lambda *a: seen.setdefault("args", a)

    launch, trace = pt.traced_paged(build, w, q, cache, out)
    launch()
    a = seen["args"]
    assert seen["spec"].startswith("prefill_paged_bf16_headdim128_headdimv128_causal_tilem128_tmaboxrows16")
    assert len(a) == 14 and a[3] is out and a[10] is w._plan.part and a[11] is w._plan.count
    lse = a[4]
    assert tuple(lse.shape) == (heads, 500) and lse.is_contiguous()
    assert tuple(trace.shape) == (w._plan.num_ctas, pt.TR_CTA_WORDS) and trace.dtype == torch.int32
    # the kernel's base: one past the last LSE element (crd2idx((h - 1, total_q - 1)) + 1)
    assert trace.data_ptr() == lse.data_ptr() + lse.numel() * 4

    wd = cute_attn.BatchPrefillWithRaggedKVCacheWrapper(device="cpu")
    wd.plan(qo, qo, heads, heads, d, causal=True)
    k = v = torch.zeros(500, heads, d, dtype=torch.bfloat16)
    seen.clear()
    launch, trace = pt.traced_dense(build, wd, q, k, v, out)
    launch()
    # requests of 300 and 200 rows: the 128-row short-request tile (hd128 ships 192 x 80 for long requests)
    assert seen["spec"] == "prefill_bf16_headdim128_headdimv128_causal_tilem128_sm90a" and len(seen["args"]) == 12
    assert trace.data_ptr() == seen["args"][4].data_ptr() + heads * 500 * 4

