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


def test_logged_windows_and_ratios(monkeypatch):
    """The window loop (the GPU run and nvidia-smi replaced): fields kept, TFLOP/s from calls and time, clock and power
    from the log after the first second, ratios against the reference of the same group only."""
    import bench.power_probe as pp

    t0 = _ts("2026/11/23 18:31:00.000")
    clock = iter(range(100))

    def fake_window(fn, secs):
        start = t0 + 10 * next(clock)
        return start, start + secs, fn()

    class FakeLog:
        def __init__(self, *a, **k):
            pass

        def terminate(self):
            pass

        def communicate(self, timeout=None):
            lines = []
            for i in range(400):  # 40 s at 10 Hz: window k at [10 k, 10 k + 4], 1500 MHz, 600 + 10 k W
                ts = datetime.datetime.fromtimestamp(t0 + 0.1 * i).strftime("%Y/%m/%d %H:%M:%S.%f")
                lines.append(f"{ts}, 1500, {600 + 10 * int(i // 100)}")
            return "\n".join(lines), ""

    monkeypatch.setattr(pp, "run_window", fake_window)
    monkeypatch.setattr(pp.subprocess, "Popen", FakeLog)
    monkeypatch.setattr(pp.time, "sleep", lambda s: None)
    jobs = [({"kernel": "dense", "pass": 0}, lambda: 100, 4e12), ({"kernel": "page1", "pass": 0}, lambda: 90, 4e12),
            ({"kernel": "page1", "pass": 1}, lambda: 80, 4e12), ({"kernel": "dense", "pass": 1}, lambda: 100, 4e12)]
    windows, samples = pp.logged_windows(jobs, 4.0)
    assert [(w["kernel"], w["pass"], w["calls"]) for w in windows] == [("dense", 0, 100), ("page1", 0, 90),
                                                                         ("page1", 1, 80), ("dense", 1, 100)]
    assert windows[0]["tflops"] == pytest.approx(100.0) and windows[0]["mhz"] == 1500.0
    assert windows[0]["tflops_per_ghz"] == pytest.approx(100.0 / 1.5)
    pp.add_ratios(windows, "dense", ("pass",))
    assert windows[1]["tflops_x_dense"] == pytest.approx(0.9) and windows[2]["tflops_x_dense"] == pytest.approx(0.8)
    assert windows[0]["tflops_x_dense"] == 1.0
    skipped = [dict(w) for w in windows]
    for w in skipped:
        for k in [k for k in w if k.endswith("_x_dense")]:
            del w[k]
    pp.add_ratios(skipped, "dense", ("pass",), skip_ref=True)
    assert "tflops_x_dense" not in skipped[0] and skipped[1]["tflops_x_dense"] == pytest.approx(0.9)
