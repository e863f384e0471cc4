"""Host checks of ``bench.sass_hotloop`` (the SASS hot-loop comparison of two builds) on synthetic nvdisasm text."""

from bench.sass_hotloop import compare, hot_loops, opcode, parse

SASS_A = """
        /*0000*/                   MOV R1, c[0x0][0x28] ;
.L_x_3:
        /*0010*/                   WARPGROUP.ARRIVE ;
        /*0020*/                   HGMMA.64x128x16.F32.BF16 R24, gdesc[UR20], RZ, !UPT ;
        /*0030*/                   HGMMA.64x128x16.F32.BF16 R24, gdesc[UR20], R24, gsb0 ;
        /*0040*/                   FMNMX R2, R24, R25, !PT ;
        /*0050*/               @P0 BRA `(.L_x_3) ;
        /*0060*/                   EXIT ;
"""

SASS_B = SASS_A.replace(
    "        /*0040*/                   FMNMX R2, R24, R25, !PT ;\n",
    "        /*0040*/                   FMNMX R2, R24, R25, !PT ;\n"
    "        /*0048*/                   SYNCS.PHASECHK.TRANS64 P0, [UR4], R3 ;\n",
)


def test_parse_finds_instructions_labels_and_the_hgmma_loop():
    ins, labels = parse(SASS_A)
    assert len(ins) == 7 and labels == {"3": 1}
    assert opcode("@P0 BRA `(.L_x_3)") == "BRA" and opcode(ins[2]).startswith("HGMMA")
    (body,) = hot_loops(ins, labels)
    assert len(body) == 5 and sum(opcode(t).startswith("HGMMA") for t in body) == 2
    assert hot_loops(ins, labels, hgmma=3) == []


def test_compare_reports_the_inlined_wait():
    a = hot_loops(*parse(SASS_A))[0]
    b = hot_loops(*parse(SASS_B))[0]
    c = compare(a, b)
    assert c["len"] == (5, 6) and c["count_diff"] == {"SYNCS.PHASECHK.TRANS64": (0, 1)}
    assert 0.8 < c["similar"] < 1.0
    assert compare(a, a)["count_diff"] == {} and compare(a, a)["similar"] == 1.0
