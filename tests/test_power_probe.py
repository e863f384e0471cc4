"""Host checks of bench.power_probe's log parsing and window statistics (no GPU)."""

import datetime

import pytest

from bench.power_probe import parse_log, window_stats


def _ts(s):
    return datetime.datetime.strptime(s, "%Y/%m/%d %H:%M:%S.%f").timestamp()


def test_parse_log_skips_noise():
    text = "\n".join([
        "2026/11/23 18:31:00.000, 1980, 120.50",
        "garbage line",
        "2026/11/23 18:31:00.050, 1755, 699.10",
        "2026/11/23 18:31:00.100, [N/A], 650.0",
        "",
    ])
    got = parse_log(text)
    assert got == [(_ts("2026/11/23 18:31:00.000"), 1980.0, 120.5), (_ts("2026/11/23 18:31:00.050"), 1755.0, 699.1)]


def test_window_stats_leaves_the_first_second_out():
    t0 = _ts("2026/11/23 18:31:00.000")
    samples = [(t0 + 0.1 * i, 1980.0 if i < 10 else 1600.0 + i, 700.0) for i in range(40)]
    mhz, watts, n = window_stats(samples, t0, t0 + 3.95)
    assert n == 30 and watts == 700.0
    assert mhz == pytest.approx(1600.0 + 24.5)  # median of 1610..1639
    assert window_stats(samples, t0 + 10, t0 + 11) == (pytest.approx(float("nan"), nan_ok=True),
                                                      pytest.approx(float("nan"), nan_ok=True), 0)
