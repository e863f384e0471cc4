"""CPU checks of the decode TRACE build's host side (bench/decode_trace.py): its summary of synthetic per-CTA stamps,
globaltimer wrapping through 2**32 included, and the merging epilogue's pieces around the split's atomic (cols 14 / 15,
session 19)."""

import numpy as np
import pytest

pytest.importorskip("torch")
from bench import decode_trace as dt  # noqa: E402


def _stamps(ctas=4, t0=2**32 - 1500, merging=(3,), pieces=(580, 610, 1170)):
    """ns stamps of ``ctas`` CTAs starting 100 ns apart at ``t0`` (globaltimer_lo wraps during the launch); the CTAs in
    ``merging`` ran a split's merge whose epilogue took ``pieces`` (to the atomic, the atomic, after it)."""
    t = np.zeros((ctas, dt.COLS), dtype=np.int64)
    for c in range(ctas):
        start = t0 + 100 * c
        t[c, 0] = start  # consumer start
        t[c, 6] = start + 1300  # producer's first issue
        t[c, 1] = start + 3000  # first KV tile landed
        t[c, 2] = start + 40000 + 500 * c  # last tile's GEMMs done
        t[c, 7] = start + 39000
        t[c, 8], t[c, 9], t[c, 10], t[c, 11] = 1000, 6000, 76000, 79000  # clocks
        end = t[c, 2] + 600
        if c in merging:
            t[c, 4] = 1
            t[c, 13] = t[c, 2]  # the merging epilogue starts when the last tile's GEMMs are done
            t[c, 14] = t[c, 13] + pieces[0]
            t[c, 15] = t[c, 14] + pieces[1]
            t[c, 12] = t[c, 15] + pieces[2]
            t[c, 16] = t[c, 15] + pieces[2] - 300  # the parts loop ends 300 ns before the merge does
            end = t[c, 12] + 50
        t[c, 3] = end
    return t & 0xFFFFFFFF  # as the kernel writes them: the low 32 bits


def test_summary_of_a_launch_with_one_merge():
    t = _stamps()
    s = dt.summarize([(60.0, t)], kv_bytes=134_217_728)
    # the last CTA starts 300 ns after the first and ends its merge 40000 + 1500 + 580 + 610 + 1170 + 50 ns after its start
    span = (300 + 40000 + 1500 + 580 + 610 + 1170 + 50) / 1e3
    assert s["span_us"] == pytest.approx(span)
    assert s["outside_us"] == pytest.approx(60.0 - span)
    assert s["start_us"] == pytest.approx([0.0, 0.15, 0.3])
    assert s["merging_ctas"] == 1
    assert s["merge_epilogue_us"] == pytest.approx([2.36] * 3)
    assert s["merge_epi_to_atomic_us"] == pytest.approx([0.58] * 3)
    assert s["merge_atomic_us"] == pytest.approx([0.61] * 3)
    assert s["merge_loads_to_end_us"] == pytest.approx([1.17] * 3)
    # its three pieces, then the span left after it (the CTA end 50 ns later is the launch's last)
    assert s["last_merge_pieces_us"] == pytest.approx([0.58, 0.61, 1.17, 0.05])
    assert s["producer_first_issue_us"] == pytest.approx([1.3, 1.45, 1.6])
    assert s["merge_parts_loop_us"] == pytest.approx([0.87] * 3)
    assert s["merge_final_us"] == pytest.approx([0.3] * 3)


def test_old_trace_builds_without_the_atomic_stamps():
    t = _stamps()
    t[:, 14:] = 0  # a trace build from before session 19 leaves cols 14-16 at zero
    s = dt.summarize([(60.0, t)], kv_bytes=134_217_728)
    assert s["merge_epilogue_us"] == pytest.approx([2.36] * 3)
    assert "merge_atomic_us" not in s and "merge_parts_loop_us" not in s


def test_no_split_launch_reports_no_merge():
    t = _stamps(merging=())
    s = dt.summarize([(400.0, t)], kv_bytes=1 << 30)
    assert s["merging_ctas"] == 0
    assert "merge_epilogue_us" not in s
