"""Host tests of bench/decode_trace.py's reading of the decode kernel's TRACE stamps (per item and per transition)."""

import numpy as np

from bench import decode_trace as T


def stamps(ctas=4, items=3, item_ns=16000, gap_ns=2000, lead_ns=1000):
    """Synthetic stamps of one launch (ns): CTA c starts at 1000 + c; item k's first tile lands at 3000 + k * (item_ns +
    gap_ns), its epilogue starts item_ns later; the producer issues item k + 1's first tile lead_ns before item k's
    epilogue, ends item k's issues 3000 ns before it, reaches item k + 1's acquire 2000 ns later, passes it after 30."""
    t = np.zeros((ctas, T.COLS), dtype=np.int64)
    for c in range(ctas):
        t[c, 0], t[c, 1], t[c, 2], t[c, 3], t[c, 6], t[c, 7] = 1000 + c, 3000, 50000, 52000, 2000, 40000
        for k in range(items):
            first = 3000 + k * (item_ns + gap_ns)
            epi = first + item_ns
            t[c, T.FIRST + k], t[c, T.EPI + k], t[c, T.KV + k] = first, epi, first - 100
            t[c, T.PEND + k] = epi - 3000
            if k + 1 < items:
                t[c, T.ISSUE + k + 1] = epi - lead_ns
                t[c, T.PPRE + k + 1] = epi - 3000 + 2000
                t[c, T.PACQ + k + 1] = epi - 3000 + 2030
        t[c, T.ISSUE], t[c, T.PPRE], t[c, T.PACQ] = 2000, 1900, 1950
    return t


def test_per_item_and_transition_figures():
    d = T.summarize([(60.0, stamps())], 1e9)
    assert d["item_first_to_epilogue_us"] == [16.0, 16.0, 16.0]
    assert d["item_transition_gap_us"] == [2.0, 2.0, 2.0]
    assert d["producer_lead_us"] == [1.0, 1.0, 1.0]
    assert np.allclose(d["item_kv_to_first_us"], 0.1)
    assert np.allclose(d["producer_end_to_pre_acquire_us"], 2.0)
    assert np.allclose(d["producer_acquire_wait_us"], 0.03)
    assert np.allclose(d["producer_end_before_epilogue_us"], 3.0)
    assert np.allclose(d["producer_acquire_to_issue_us"], (3000 - 1000 - 2030) / 1e3)


def test_unstamped_items_are_left_out():
    t = stamps(items=2)
    t[1:, T.FIRST + 1] = 0  # CTAs 1-3 ran one item: no transition there
    t[1:, T.EPI + 1] = 0
    d = T.summarize([(60.0, t)], 1e9)
    assert d["item_transition_gap_us"] == [2.0, 2.0, 2.0]  # CTA 0's only
    one_item = stamps(items=1)
    assert "item_transition_gap_us" not in T.summarize([(60.0, one_item)], 1e9)


def test_brief_line():
    row = {"case": "64 x 4k", "page": 16, "setting": "base", "event_us": 356.126, "last_tile_us": [1.234, 2.0, 3.0],
           "other": 1.0}
    assert T.brief(row) == "64 x 4k 16 base {'event_us': 356.13, 'last_tile_us': [1.23, 2.0, 3.0]}"
