"""Host checks of the benchmark timing plumbing (``bench.common.compare``, both timing modes): no GPU needed."""

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
    per = common.compare({k: _fn(k, {}) for k in "ab"}, rounds=2, warm_s=0.0, mode="rounds")
    # a, b, b, a under a clock that slows linearly: equal kernels come out equal on the mean
    assert sum(per["a"]) == sum(per["b"])


def test_median_and_ratio():
    assert common.median([3, 1, 2]) == 2
    assert common.median([4, 1, 2, 3]) == 2.5
    per = {"ours": [1.0, 2.0, 1.0], "peer": [1.2, 2.0, 1.5]}
    assert common.ratio(per, "ours", "peer") == pytest.approx(1.2)


class _Clock:
    """A stand-in GPU: fns advance a shared clock by their cost times a speed that drifts with every call (the
    power-capped clock), and CUDA events read that clock."""

    def __init__(self, drift):
        self.t, self.calls, self.drift, self.log = 0.0, 0, drift, []

    def fn(self, label, cost):
        def run():
            self.t += cost * (1.0 + self.drift(self.calls))
            self.calls += 1
            self.log.append(label)

        return run


def _paired_setup(monkeypatch, clock):
    class Event:
        def __init__(self, enable_timing=True):
            self.t = None

        def record(self):
            self.t = clock.t

        def elapsed_time(self, other):
            return other.t - self.t

    evictions = []
    monkeypatch.setattr(common.torch.cuda, "Event", Event)
    monkeypatch.setattr(common.torch.cuda, "synchronize", lambda: None)
    monkeypatch.setattr(common, "_evictor", lambda flush: (lambda: evictions.append(flush)))
    return evictions


def test_paired_alternates_call_by_call(monkeypatch):
    clock = _Clock(lambda n: 0.0)
    evictions = _paired_setup(monkeypatch, clock)
    per = common.compare({"a": clock.fn("a", 1.0), "b": clock.fn("b", 2.0)}, rounds=2, rep_ms=8, warm_s=0.0,
                         mode="paired")
    # warm-up a b, one estimate call each (a b), then rounds of max(3, 8 ms / 2 ms) = 4 call pairs, each pair's
    # order reversed from the one before; round 1 starts reversed
    assert clock.log == list("ab") + list("ab") + list("abbaabba") + list("baabbaab")
    assert per == {"a": [1.0, 1.0], "b": [2.0, 2.0]}
    assert evictions == ["zero"] * (2 + 16)  # one eviction before every timed call


def test_paired_cancels_a_drifting_clock(monkeypatch):
    """A clock that slows by 30 % over the run and oscillates: equal kernels come out equal within 1 %, and a
    kernel twice as costly comes out at 2x."""
    import math

    def drift(n):
        return 0.3 * n / 400 + 0.1 * math.sin(n / 7.0)

    clock = _Clock(drift)
    _paired_setup(monkeypatch, clock)
    per = common.compare({"a": clock.fn("a", 1.0), "b": clock.fn("b", 1.0), "c": clock.fn("c", 2.0)}, rounds=3,
                         rep_ms=120, warm_s=0.0, mode="paired")
    assert common.ratio(per, "a", "b") == pytest.approx(1.0, abs=0.01)
    assert common.ratio(per, "a", "c") == pytest.approx(2.0, rel=0.01)


def test_timing_mode_default_and_check(monkeypatch):
    assert common.TIMING == "rounds" and common.TIMING in common.TIMING_MODES
    with pytest.raises(ValueError, match="mode must be one of"):
        common.compare({}, warm_s=0.0, mode="fast")
    with pytest.raises(ValueError, match="flush must be one of"):
        common._evictor("none")


def test_forced_tile_restores_the_plan_rule_and_the_split_switch(monkeypatch):
    """bench.common.forced_tile (bench.prefill_paged --tiles, bench.prefill_ab's t<M> / sec / bucket variants): a forced
    tile replaces prefill.choose_tile_m inside, "nosplit" sets CUTE_ATTN_PREFILL_SPLIT=0 inside; both are restored,
    an exception included."""
    import importlib
    import os

    import pytest

    from bench.common import forced_tile

    P = importlib.import_module("cute_attn.prefill")
    rule = P.choose_tile_m
    monkeypatch.delenv(P.SPLIT_ENV, raising=False)
    with forced_tile(128):
        assert P.choose_tile_m([4096] * 4, 64, 64, True) == 128 and P.SPLIT_ENV not in os.environ
    assert P.choose_tile_m is rule
    with pytest.raises(RuntimeError), forced_tile("nosplit"):
        assert os.environ[P.SPLIT_ENV] == "0" and P.choose_tile_m is rule
        raise RuntimeError
    assert P.SPLIT_ENV not in os.environ
    monkeypatch.setenv(P.SPLIT_ENV, "1")
    with forced_tile(None):
        assert P.choose_tile_m is rule
    with forced_tile("nosplit"):
        assert os.environ[P.SPLIT_ENV] == "0"
    assert os.environ[P.SPLIT_ENV] == "1"
