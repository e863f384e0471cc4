"""Host checks of ``bench.ncu_producer`` (the producer region's executed instructions from an ncu source export) on a
synthetic export of two kernels."""

from bench.ncu_producer import kernels, main, nvtx_names, producer_stats

HDR = ('"Address","Source","Warp Stall Sampling (All Samples)","Instructions Executed","stall_long_sb",'
       '"stall_wait","stall_long_sb (Not Issued)"')


def _kernel(name, rows):
    return f'"Kernel Name","{name}"\n{HDR}\n' + "".join(f'"{a}","{s}","{n}","{e}","{l}","{w}","99"\n'
                                                        for a, s, n, e, l, w in rows)


CSV = _kernel("k_dense", [
    ("0x0", "LDG.E R2, desc[UR4][R2.64]", 5, 100, 4, 1),
    ("0x10", "@P0 UTMALDG.3D [UR8], [UR6], desc[URZ]", 1, 50, 0, 1),
    ("0x20", "USETMAXREG.TRY_ALLOC.CTAPOOL UR4, 0xf0", 0, 256, 0, 0),
    ("0x30", "HGMMA.64x128x16.F32.BF16 R24, gdesc[UR20], RZ, !UPT", 7, 1000, 0, 7),
]) + _kernel("k_paged", [
    ("0x0", "SHFL.IDX PT, R3, R33, RZ, 0x1f", 2, "1,000", 0, 2),
    ("0x10", "USETMAXREG.TRY_ALLOC.CTAPOOL UR4, 0xf0", 0, 256, 0, 0),
    ("0x20", "IMAD R0, R1, R2, RZ", 1, 10, 1, 0),
    ("0x30", "USETMAXREG.TRY_ALLOC.CTAPOOL UR4, 0xf0", 0, 256, 0, 0),
    ("0x40", "HGMMA.64x128x16.F32.BF16 R24, gdesc[UR20], RZ, !UPT", 9, 1000, 0, 9),
])


def test_producer_region_ends_at_the_first_register_raise():
    (n1, h1, r1), (n2, h2, r2) = kernels(CSV)
    assert (n1, n2) == ("k_dense", "k_paged")
    s = producer_stats(h1, r1)
    assert s["instructions"] == 2 and s["executed"] == 150 and s["samples"] == 6
    assert s["kinds"]["LDG"][:3] == (1, 100, 5) and s["kinds"]["UTMALDG"][:3] == (1, 50, 1)
    assert s["kinds"]["LDG"][3] == [("long_sb", 4), ("wait", 1)]  # "(Not Issued)" columns are not stall reasons
    s = producer_stats(h2, r2)  # two raises: the region ends at the first (a quoted "1,000" is a number)
    assert s["instructions"] == 1 and s["executed"] == 1000 and set(s["kinds"]) == {"SHFL"}


def test_nvtx_names_and_the_command_line(tmp_path, capsys):
    details = "  kernel_a\n        <0,dense>\n  ...\n        <0,tree_page64>\n"
    assert nvtx_names(details) == ["dense", "tree_page64"]
    (tmp_path / "s.csv").write_text(CSV)
    (tmp_path / "d.txt").write_text(details)
    main([str(tmp_path / "s.csv"), str(tmp_path / "d.txt"), "--blocks", "10"])
    out = capsys.readouterr().out
    assert "== dense: producer region 2 instructions, 150 warp instructions executed, 15 per key block" in out
    assert "== tree_page64: producer region 1 instructions, 1000 warp instructions executed, 100 per key block" in out
