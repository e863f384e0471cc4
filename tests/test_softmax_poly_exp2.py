"""CPU checks of ``CUTE_ATTN_SOFTMAX_POLY_EXP2`` (bench/NOTES-prefill.md, "Session 6: exp2 on the FMA pipe"): the
polynomial exp2 of ``kernels/common/softmax.py`` replayed on the host in float32 numpy with the PTX's operation order
(accuracy over [-126, 0], exact zeros at x <= -127 and -inf, monotonicity, rounding to bf16 / fp16), that the PTX text
is the sequence replayed here, and, with the DSL, that an hd64 prefill variant with the switch on compiles."""

import re
import struct

import numpy as np
import pytest

pytest.importorskip("cutlass")
from cute_attn.kernels.common import softmax as sm  # noqa: E402

F32 = np.float32


def _round_down_f32(s: np.ndarray) -> np.ndarray:
    """float64 -> float32 rounded toward -inf (PTX ``add.rm.f32`` when the float64 sum is exact, as here)."""
    t = s.astype(F32)
    low = t.astype(np.float64) > s
    t[low] = np.nextafter(t[low], F32(-np.inf))
    return t


def _fma(a, b, c) -> np.ndarray:
    """``fma.rn.f32``: the float64 product of two float32 is exact; the sum is rounded twice (to float64, then to
    float32), which can differ from one rounding by 1 float32 ulp in rare cases (irrelevant at the bounds below)."""
    return (np.asarray(a, np.float64) * np.asarray(b, np.float64) + np.asarray(c, np.float64)).astype(F32)


def exp2_poly_host(x) -> np.ndarray:
    """The PTX of :func:`softmax.exp2_poly_ptx`, step by step in float32."""
    x = np.asarray(x, F32)
    c0, c1, c2, c3 = (F32(c) for c in sm.POLY_EXP2_COEFFS)
    assert c0 == 1.0
    magic = F32(sm.POLY_EXP2_MAGIC)
    with np.errstate(invalid="ignore", over="ignore"):
        xc = np.maximum(x, F32(sm.POLY_EXP2_CLAMP))                     # max.f32
        t = _round_down_f32(xc.astype(np.float64) + np.float64(magic))  # add.rm.f32
        j = (t - magic).astype(F32)                                    # sub.rn.f32 (exact)
        f = (xc - j).astype(F32)                                       # sub.rn.f32 (exact)
        p = _fma(f, c3, c2)                                            # fma.rn.f32 x3
        p = _fma(p, f, c1)
        p = _fma(p, f, c0)
        eb = t.view(np.uint32) << np.uint32(23)                        # shl.b32 eb, t, 23
        return (p.view(np.uint32) + eb).view(F32)                      # add.s32 (mod 2^32)


def _grid():
    """Every float32 step of 2^-12 over [-126, 0] (516,097 points, incl. every integer) plus 200,000 random
    float32 values."""
    dense = np.arange(-126 * 4096, 1, dtype=np.int64).astype(np.float64) / 4096.0
    rnd = np.random.default_rng(0).uniform(-126.0, 0.0, 200_000)
    return np.concatenate([dense, rnd]).astype(F32)


def test_ptx_is_the_replayed_sequence():
    ptx = sm.exp2_poly_ptx()
    ops = [line.split()[0] for line in ptx.splitlines() if line and line[0] not in "{}."]
    assert ops == ["max.f32", "add.rm.f32", "sub.rn.f32", "sub.rn.f32", "fma.rn.f32", "fma.rn.f32", "fma.rn.f32",
                   "mov.b32", "shl.b32", "add.s32", "mov.b32"]
    assert "ex2" not in ptx and "cvt" not in ptx  # no SFU op: conversions / FRND run at MUFU's rate
    hexes = re.findall(r"0f([0-9A-F]{8})", ptx)
    vals = [struct.unpack("<f", struct.pack("<I", int(h, 16)))[0] for h in hexes]
    c0, c1, c2, c3 = (float(F32(c)) for c in sm.POLY_EXP2_COEFFS)
    assert vals == [sm.POLY_EXP2_CLAMP, sm.POLY_EXP2_MAGIC, sm.POLY_EXP2_MAGIC, c3, c2, c1, c0]
    # the magic constant: 1.5 * 2^23 (its low 9 bits are 0: they shift out of bits(t) << 23, leaving floor(x) << 23)
    assert sm.POLY_EXP2_MAGIC == 1.5 * 2**23
    assert struct.unpack("<I", struct.pack("<f", sm.POLY_EXP2_MAGIC))[0] & 0x1FF == 0


@pytest.mark.parametrize("every", [1, 2, 3, 4, 6, 8, 16])
def test_positions(every):
    """One of every ``every`` fragment elements, the same number in both of the thread's rows (n = 64: tile_n 128;
    56: tile_n 112; 40: tile_n 80)."""
    for n in (64, 56, 40):
        at = [k for k in range(n) if sm.poly_exp2_at(k, every)]
        assert len(at) == n // every or (n % every and len(at) in (n // every, n // every + 1))
        if n % (2 * every) == 0 and every != 1:
            rows = [sm.row_of(k) for k in at]
            assert rows.count(0) == rows.count(1), (every, n, at)
    assert not any(sm.poly_exp2_at(k, 0) for k in range(64))


def test_switch_default_off():
    import os

    assert sm.POLY_EXP2_EVERY == int(os.environ.get("CUTE_ATTN_SOFTMAX_POLY_EXP2", "0") or "0")


def test_accuracy():
    x = _grid()
    got = exp2_poly_host(x).astype(np.float64)
    ref = np.exp2(x.astype(np.float64))
    rel = np.abs(got - ref) / ref
    # fit 8.57e-5 (float64 polynomial) + float32 evaluation; fp16's half-ulp is >= 2^-12 = 2.4e-4 relative
    assert rel.max() < 8.7e-5, rel.max()
    ints = x == np.round(x)
    assert np.all(got[ints] == ref[ints])  # p(0) = 1: exact at the integers (2^-126 included)


def test_zero_at_and_below_minus_127():
    x = np.concatenate([
        np.array([-np.inf, -3.0e38, -1.0e30, -1.0e6, -4096.5, -200.0, -128.0, -127.5, -127.0], F32),
        np.random.default_rng(1).uniform(-1.0e4, -127.0, 100_000).astype(F32),
    ])
    got = exp2_poly_host(x)
    assert np.all(got == 0.0) and not np.any(np.signbit(got))  # +0 exactly (like ex2.approx.ftz.f32)
    # (-127, -126): ex2.approx.ftz gives 0, the polynomial a non-negative subnormal below 2^-126
    mid = np.linspace(-127.0, -126.0, 4097, dtype=F32)[1:-1]
    sub = exp2_poly_host(mid)
    assert np.all(sub >= 0.0) and np.all(sub < 2.0**-126) and not np.any(np.signbit(sub))
    # a fully masked row: every P is 0, so its row sum stays 0 and finalize() keeps LSE = -inf
    assert exp2_poly_host(np.full(128, -np.inf, F32)).sum(dtype=np.float32) == 0.0


def test_monotonic():
    x = np.sort(np.concatenate([_grid(), np.linspace(-128.0, -126.0, 8193, dtype=F32)]))
    got = exp2_poly_host(x)
    assert np.all(np.diff(got.astype(np.float64)) >= 0.0)
    # across each integer: the left limit stays below the value at the integer
    k = np.arange(-125, 1, dtype=F32)
    left = exp2_poly_host(np.nextafter(k, F32(-np.inf), dtype=F32))
    assert np.all(left <= exp2_poly_host(k))


def _to_bf16_bits(v: np.ndarray) -> np.ndarray:
    """float32 -> bf16 bit pattern, round to nearest even (``cvt.rn.bf16x2.f32``), as int32 (finite inputs)."""
    b = v.astype(F32).view(np.uint32).astype(np.uint64)
    return ((b + 0x7FFF + ((b >> 16) & 1)) >> 16).astype(np.int64)


def test_rounded_to_16_bit():
    """After the P conversion, the polynomial's P is the correctly rounded 2^x or its neighbour (1 ulp)."""
    x = _grid()
    got = exp2_poly_host(x)
    ref = np.exp2(x.astype(np.float64)).astype(F32)  # float32 2^x (rounded once)
    d_bf16 = np.abs(_to_bf16_bits(got) - _to_bf16_bits(ref))
    assert d_bf16.max() <= 1
    big = x > -14  # fp16 normal range of P (smaller P are fp16 subnormal / zero in both)
    d_f16 = np.abs(got[big].astype(np.float16).view(np.int16).astype(np.int64)
                   - ref[big].astype(np.float16).view(np.int16).astype(np.int64))
    assert d_f16.max() <= 1
    # share of elements whose 16-bit P moves by 1 ulp (printed with -s; NOTES-prefill, Session 6)
    print(f"bf16 1-ulp changes {np.mean(d_bf16 > 0):.4f}, fp16 {np.mean(d_f16 > 0):.4f}")


@pytest.mark.compile
@pytest.mark.parametrize("every", [4])
def test_prefill_hd64_compiles_with_poly(monkeypatch, every):
    """hd64 causal bf16 dense prefill with every 4th P on the FMA pipe compiles for sm_90a (the module constant is
    read at trace time, like the env var at import)."""
    from cute_attn.kernels import prefill_sm90 as m
    from cute_attn.specs import PrefillSpec

    monkeypatch.setattr(sm, "POLY_EXP2_EVERY", every)
    spec = PrefillSpec(dtype="bf16", head_dim=64, head_dim_v=64, causal=True)
    assert m.compile_prefill(spec) is not None
