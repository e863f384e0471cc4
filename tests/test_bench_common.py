"""Host checks of the benchmark timing plumbing (``bench.common.compare``): no GPU needed."""

import pytest

import bench.common as common


def _fake_clock(monkeypatch):
    order = []

    def fake_time_ms(fn, warmup_ms=0, rep_ms=0):
        fn()
        order.append(fn.label)
        return float(len(order))  # the "clock" slows down with every timing: later = slower

    monkeypatch.setattr(common, "time_ms", fake_time_ms)
    monkeypatch.setattr(common.torch.cuda, "synchronize", lambda: None)
    return order


def _fn(label, counter):
    def fn():
        counter[label] = counter.get(label, 0) + 1

    fn.label = label
    return fn


def test_compare_warms_then_alternates_order(monkeypatch):
    order = _fake_clock(monkeypatch)
    counter = {}
    per = common.compare({k: _fn(k, counter) for k in "abc"}, rounds=4, warm_s=0.0)
    assert order == list("abccbaabccba")
    assert per == {"a": [1.0, 6.0, 7.0, 12.0], "b": [2.0, 5.0, 8.0, 11.0], "c": [3.0, 4.0, 9.0, 10.0]}
    # one warm-up pass over every fn before the timed rounds, plus one call per timing
    assert counter == {"a": 5, "b": 5, "c": 5}


def test_alternating_rounds_cancel_a_linear_drift(monkeypatch):
    _fake_clock(monkeypatch)
    per = common.compare({k: _fn(k, {}) for k in "ab"}, rounds=2, warm_s=0.0)
    # a, b, b, a under a clock that slows linearly: equal kernels come out equal on the mean
    assert sum(per["a"]) == sum(per["b"])


def test_median_and_ratio():
    assert common.median([3, 1, 2]) == 2
    assert common.median([4, 1, 2, 3]) == 2.5
    per = {"ours": [1.0, 2.0, 1.0], "peer": [1.2, 2.0, 1.5]}
    assert common.ratio(per, "ours", "peer") == pytest.approx(1.2)
