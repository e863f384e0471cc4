"""Helpers shared by the prefill tests: random inputs on the GPU, indptr arrays, the error bound against a reference,
and a dense plan made on the CPU with a stand-in GPU slot count."""

import importlib

import torch

P = importlib.import_module("cute_attn.prefill")  # the package's ``prefill`` attribute is the function
_PLAN_SLOTS = P._plan_slots


def rand(gen, *shape, dtype=torch.bfloat16):
    return torch.randn(*shape, generator=gen).to(dtype).cuda()


def indptr(lens):
    out = [0]
    for n in lens:
        out.append(out[-1] + n)
    return out


def assert_close_to_reference(out, lse, ref_o, ref_l, low):
    """``out`` / ``lse`` against the high-precision reference ``ref_o`` / ``ref_l``: nothing left unwritten (NaN), the
    largest error at most 3x a same-dtype peer's (``low``) plus 1e-3, relative error < 1e-2, the same rows without
    keys (LSE -inf) and the other LSEs within 2e-3 + 1e-3 relative. Compared in float64 on ``ref_o``'s device. A batch
    without queries (every request empty) has empty outputs: then only the shapes are compared."""
    assert out.shape == ref_o.shape and lse.shape == ref_l.shape, (out.shape, ref_o.shape, lse.shape, ref_l.shape)
    if ref_o.numel() == 0:
        return
    dev = ref_o.device
    out, lse = out.to(dev, torch.float64), lse.to(dev, torch.float64)
    ref_o, ref_l, low = ref_o.double(), ref_l.double(), low.to(dev, torch.float64)
    assert not torch.isnan(out).any(), f"unwritten (NaN) output elements: {torch.isnan(out).sum().item()}"
    assert not torch.isnan(lse).any(), "unwritten (NaN) LSE elements"
    base_err = (low - ref_o).abs().max().item()
    err = (out - ref_o).abs().max().item()
    assert err <= 3 * base_err + 1e-3, f"max error {err:.3g} vs same-dtype reference {base_err:.3g}"
    rel = ((out - ref_o).norm() / ref_o.norm().clamp_min(1e-12)).item()
    assert rel < 1e-2, f"relative error {rel:.3g}"
    assert torch.equal(torch.isneginf(lse), torch.isneginf(ref_l))
    fin = torch.isfinite(ref_l)
    torch.testing.assert_close(lse[fin], ref_l[fin], atol=2e-3, rtol=1e-3)


def cpu_plan(monkeypatch, q_lens, kv_lens, hq=16, hk=16, hd=128, causal=False, slots=132, planner="keep"):
    """A dense plan on the CPU with a stand-in GPU slot count (``slots``; None: the CPU's one slot per row);
    ``planner``: the compiled planner's library, None (the Python planner) or "keep" (as it is)."""
    import cute_attn

    monkeypatch.setattr(P, "_plan_slots", _PLAN_SLOTS if slots is None else lambda device: slots)
    if planner != "keep":
        monkeypatch.setattr(P, "_PLAN_LIB", [planner])
        monkeypatch.setattr(P, "PLAN_FALLBACK_REASON", [None if planner else "test"])
    w = cute_attn.BatchPrefillWithRaggedKVCacheWrapper(device="cpu")
    w.plan(indptr(q_lens), indptr(kv_lens), hq, hk, hd, causal=causal)
    return w._plan
