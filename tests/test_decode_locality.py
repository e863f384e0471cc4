"""CPU: the page placements of bench.decode (``--pages``) and bench/decode_locality.py (session 7, issue 6): every mode
is a permutation of the same page set with its window / run structure, the decode reference over a mode's table equals
the reference over the sorted table when the cache holds the same logical rows, the GPU-side dense check's gather is
the paged reference's, and every table plans on the host."""

import argparse

import pytest
import torch

from bench import decode as B
from bench import decode_locality as L
from cute_attn import reference as R

MODES = ["sorted", "shuffled", "local:128K", "local:256K", "local:2M", "local:16M", "blocks:64K", "blocks:256K",
         "blocks:2M", "blocks:3M"]


def test_parse():
    assert B.parse_size("256K") == 256 << 10 and B.parse_size("2MiB") == 2 << 20 and B.parse_size("1g") == 1 << 30
    assert B.parse_size("4096") == 4096
    assert B.parse_pages("sorted") == ("sorted", None) and B.parse_pages("blocks:2M") == ("blocks", 2 << 20)
    for bad in ("random", "local", "local:", "local:0", "blocks:-1M", "window:2M", "local:2X"):
        with pytest.raises(ValueError):
            B.parse_pages(bad)
        with pytest.raises(argparse.ArgumentTypeError):
            B.pages_mode(bad)
    assert B.page_bytes_of(16) == 64 << 10 and B.page_bytes_of(1) == 4 << 10


@pytest.mark.parametrize("page_size", [1, 16])
@pytest.mark.parametrize("num_pages", [1, 31, 64, 1000, 16384])
@pytest.mark.parametrize("mode", MODES)
def test_every_mode_is_a_permutation_with_its_structure(mode, num_pages, page_size):
    ids = L.mode_ids(num_pages, mode, page_size, seed=3)
    info = L.check_ids(ids, mode, page_size)  # permutation + window / run structure (asserts)
    assert torch.equal(ids, L.mode_ids(num_pages, mode, page_size, seed=3)), "not reproducible"
    kind, size = B.parse_pages(mode)
    w = info["pages_per_window"]
    if kind in ("local", "blocks"):
        assert w == max(1, size // B.page_bytes_of(page_size))
    if num_pages >= 1000 and (kind == "shuffled" or kind == "local" and w > 2):
        assert info["adjacent"] < 0.5  # shuffled inside windows: few neighbours left adjacent
    if kind == "blocks" and num_pages >= 1000 and num_pages // w > 1:
        assert info["adjacent"] >= (w - 1) / w - 1e-9  # every run keeps its w - 1 inner neighbours


def test_the_modes_at_the_bench_sizes():
    """64 x 4k / 16 x 16k: 16,384 pages of 64 KiB (page 16) or 262,144 of 4 KiB (page 1), 1 GiB."""
    for page_size, n in ((16, 16384), (1, 262144)):
        per_2m = (2 << 20) // B.page_bytes_of(page_size)
        got = {m: L.check_ids(L.mode_ids(n, m, page_size, 1), m, page_size) for m in L.MODES}
        # a new 2 MiB region at every table step: sorted / local:<=2M / blocks:2M only at region ends
        for m in ("sorted", "local:256K", "local:2M", "blocks:2M"):
            assert got[m]["region_change"] == pytest.approx((n // per_2m - 1) / (n - 1))
        assert got["shuffled"]["region_change"] > 0.99 and got["local:16M"]["region_change"] > 0.8
        blocks = got["blocks:256K"]["region_change"]  # a new region at every run: 1/4 (p16) or 1/64 (p1) of the steps
        assert 0.2 < blocks < 0.3 if page_size == 16 else blocks < 0.02
        # adjacency: blocks keep it, local windows break it
        assert got["blocks:2M"]["adjacent"] > 0.96 and got["local:2M"]["adjacent"] < 0.04


def _table(kv_lens, page_size):
    num_pages, indptr, last = L.table(kv_lens, page_size)
    return num_pages, indptr, last


@pytest.mark.parametrize("page_size", [1, 16])
def test_reference_over_every_mode_equals_sorted(page_size):
    """The same logical KV placed by each mode's table: the paged reference is the same for every mode, and the
    dense check of bench/decode_locality.py (its gather through the table) reproduces it."""
    gen = torch.Generator().manual_seed(7)
    kv_lens = [96, 96, 96]
    num_pages, indptr, last = _table(kv_lens, page_size)
    hq, hk, d = B.HQ, B.HK, B.D
    logical = torch.randn(num_pages, 2, page_size, hk, d, generator=gen).to(B.DTYPE)  # page j of the sorted order
    q = torch.randn(len(kv_lens), hq, d, generator=gen).to(B.DTYPE)
    qo = list(range(len(kv_lens) + 1))
    outs = {}
    # windows / runs of 2 and 4 pages (this table has 18 or 288 pages)
    pb = B.page_bytes_of(page_size)
    for mode in ("sorted", "shuffled", f"local:{2 * pb}", f"local:{4 * pb}", f"blocks:{2 * pb}", f"blocks:{4 * pb}"):
        ids = L.mode_ids(num_pages, mode, page_size, seed=11)
        L.check_ids(ids, mode, page_size)
        cache = torch.empty_like(logical)
        cache[ids.long()] = logical  # the page of table position j holds logical page j
        o, lse = R.paged_attention(q, cache[:, 0], cache[:, 1], qo, indptr, ids, last)
        outs[mode] = (o, lse)
        err = L.dense_check(q, cache, ids, kv_lens, page_size, o.to(B.DTYPE))
        assert err < 1e-2, (mode, err)
    o0, l0 = outs["sorted"]
    for mode, (o, lse) in outs.items():
        assert torch.equal(o, o0) and torch.equal(lse, l0), mode


def test_dense_check_sees_a_wrong_table():
    gen = torch.Generator().manual_seed(5)
    kv_lens, page_size = [64, 64], 16
    num_pages, indptr, last = _table(kv_lens, page_size)
    cache = torch.randn(num_pages, 2, page_size, B.HK, B.D, generator=gen).to(B.DTYPE)
    q = torch.randn(2, B.HQ, B.D, generator=gen).to(B.DTYPE)
    ids = L.mode_ids(num_pages, "shuffled", page_size, seed=1)
    o, _ = R.paged_attention(q, cache[:, 0], cache[:, 1], [0, 1, 2], indptr, ids, last)
    assert L.dense_check(q, cache, ids, kv_lens, page_size, o.to(B.DTYPE)) < 1e-2
    assert L.dense_check(q, cache, torch.arange(num_pages, dtype=torch.int32), kv_lens, page_size,
                         o.to(B.DTYPE)) > 1e-2


@pytest.mark.parametrize("page_size", [1, 16])
def test_every_table_plans_on_the_host(page_size):
    """Each mode's table plans (CPU wrapper, 132 SMs) into the same schedule: only the page ids differ."""
    import numpy as np

    kv_lens = [4096] * 64
    num_pages, indptr, last = _table(kv_lens, page_size)
    works = {}
    for mode in L.MODES:
        ids = L.mode_ids(num_pages, mode, page_size, seed=2)
        w = L.plan(indptr, ids, last, page_size, device="cpu")
        works[mode] = (w._plan.grid, w._plan.items.numpy().copy())
    g0, i0 = works["sorted"]
    for mode, (g, items) in works.items():
        assert g == g0 and np.array_equal(items, i0), mode


def test_head_minor_label_only_where_the_plan_changes():
    args = argparse.Namespace(modes=list(L.MODES), head_minor=True)
    assert L.head_minor_changes([4096] * 64, 1, 132)  # 4 whole sequences per CTA
    assert not L.head_minor_changes([16384] * 16, 1, 132)  # one sequence per CTA: the same plan
    labels = [x[0] for x in L.labels_for(args, [4096] * 64, 1, 132)]
    assert labels[-2:] == ["sorted+hm", "shuffled+hm"]
    assert [x[0] for x in L.labels_for(args, [4096] * 64, 16, 132)] == L.MODES
    assert [x[0] for x in L.labels_for(args, [16384] * 16, 1, 132)] == L.MODES
    kv_lens = [4096] * 64
    num_pages, indptr, last = _table(kv_lens, 1)
    ids = L.mode_ids(num_pages, "sorted", 1, 1)
    a = L.plan(indptr, ids, last, 1, device="cpu")
    b = L.plan(indptr, ids, last, 1, head_minor=True, device="cpu")
    import cute_attn.decode as dec

    assert dec.HEAD_MINOR_MIN_PAGE == 16  # restored
    ia, ib = a._plan.items.numpy(), b._plan.items.numpy()
    assert a._plan.grid == b._plan.grid == 128 and not (ia[:512] == ib[:512]).all()
    # the same items, reordered: CTA 0 runs kv head 0 of 4 requests instead of 4 heads of one request
    assert sorted(map(tuple, ia[:512].tolist())) == sorted(map(tuple, ib[:512].tolist()))
    from cute_attn.layouts.decode_work import Item

    assert ib[:4, Item.KV_HEAD].tolist() == [0, 0, 0, 0] and ia[:4, Item.KV_HEAD].tolist() == [0, 1, 2, 3]


def test_cli_dry_run(capsys):
    L.main(["--dry-run", "--cases", "64 x 4k", "--pages", "16", "--modes", "sorted", "blocks:256K", "shuffled"])
    out = capsys.readouterr().out.strip().splitlines()
    assert '"dry_run": "64 x 4k"' in out[0] and '"timings"' in out[-1]


def test_main_bookkeeping_on_cpu(monkeypatch, tmp_path, capsys):
    """main()'s timed path on the CPU: a stand-in kernel (the paged reference through the plan's table), a stand-in
    timer (each fn run once, a time per label), every dense check passing and the table / JSON written."""
    import json

    from bench import common

    class Stub:
        def __init__(self, indptr, ids, last, page_size):
            self.args = (indptr, ids, last)

        def run(self, q, cache):
            indptr, ids, last = self.args
            o, _ = R.paged_attention(q, cache[:, 0], cache[:, 1], list(range(q.shape[0] + 1)), indptr, ids, last)
            return o.to(q.dtype)

    fake_ms = {}

    def compare(fns, rounds, rep_ms, warm_s, flush):
        for name, fn in fns.items():
            if name != "cudnn":
                fn()
        return {name: [0.5 + 0.01 * i] * rounds for i, name in enumerate(fns)}

    monkeypatch.setattr(L, "DEVICE", "cpu")
    monkeypatch.setattr(L, "plan", lambda indptr, ids, last, ps, head_minor=False: Stub(indptr, ids, last, ps))
    monkeypatch.setattr(common, "compare", compare)
    monkeypatch.setattr(common, "device_info", lambda: {"device": "cpu", "sms": 132})
    monkeypatch.setattr(common, "copy_bandwidth_gbs", lambda n: 3000.0)
    out = tmp_path / "loc.json"
    L.main(["--cases", "2 x 64", "--pages", "16", "1", "--modes", "sorted", "local:128K", "blocks:8K", "shuffled",
            "--gather", "sorted", "shuffled", "--repeats", "2", "--rounds", "2", "--json", str(out)])
    text = capsys.readouterr().out
    summary = json.loads(text.strip().splitlines()[-1])
    assert summary["checks"] == 8 and summary["checks_failed"] == [], summary  # 4 modes x 2 pages, repeat 1
    rows = json.loads(out.read_text())["rows"]
    labels = {r["label"] for r in rows}
    assert labels == {"sorted", "local:128K", "blocks:8K", "shuffled", "gather sorted", "gather shuffled", "cudnn"}
    assert len(rows) == 2 * 2 * 7 and all(r["structure"] or r["label"].startswith(("gather", "cudnn")) for r in rows)
    assert "| 2 x 64 | 16 | shuffled |" in text and fake_ms == {}


def test_gather_fn_reads_pages_in_table_order():
    cache = torch.randn(40, 2, 1, B.HK, B.D).to(B.DTYPE)
    ids = L.mode_ids(40, "shuffled", 1, seed=4)
    dst = torch.empty(40, cache[0].numel(), dtype=B.DTYPE)
    L.gather_fn(cache, ids, dst)()
    assert torch.equal(dst, cache[ids.long()].reshape(40, -1))


def test_reqsorted_keeps_each_request_pages_and_last_page():
    """``reqsorted``: the shuffled ids, each request's pages but its last in ascending order (same set per request)."""
    import torch

    from bench.decode import page_ids, parse_pages, request_sorted

    assert parse_pages("reqsorted") == ("reqsorted", None)
    gen = torch.Generator().manual_seed(3)
    pages_per = [5, 1, 2, 9, 0, 3]
    ids = page_ids(sum(pages_per), "reqsorted", 4096, gen)
    out = request_sorted(ids, pages_per)
    start = 0
    for n in pages_per:
        seg, orig = out[start:start + n], ids[start:start + n]
        assert sorted(seg.tolist()) == sorted(orig.tolist())
        if n:
            assert seg[-1] == orig[-1]  # the partial last page stays last
        assert seg[:-1].tolist() == sorted(orig[:-1].tolist())
        start += n


def test_bench_decode_configure_sets_head_dim_and_dtype():
    """bench.decode --head-dim / --dtype: the page size in bytes follows them; the defaults are the issue's hd128 bf16."""
    try:
        B.configure(256, "fp16")
        assert B.D == 256 and B.DTYPE is torch.float16 and B.page_bytes_of(16) == 2 * 16 * B.HK * 256 * 2
        B.configure(64, "bf16")
        assert B.page_bytes_of(1) == 2 * 1 * B.HK * 64 * 2
        with pytest.raises(ValueError, match="head_dim"):
            B.configure(96, "bf16")
        # modules that imported D / DTYPE by value follow when passed (bench.decode_ab's case inputs, a script's own)
        import types

        import bench.decode_ab as A

        own = types.SimpleNamespace(D=128)
        B.configure(64, "fp16", A, own)
        assert A.D == 64 and A.DTYPE is torch.float16 and own.D == 64 and not hasattr(own, "DTYPE")
        # a script's --head-dim: bench.decode, bench.decode_ab and the calling module (by its name in sys.modules)
        import sys

        sys.modules["head_dim_caller"] = own = types.SimpleNamespace(D=128)
        try:
            B.use_head_dim(256, "head_dim_caller")
        finally:
            del sys.modules["head_dim_caller"]
        assert B.D == A.D == own.D == 256 and B.DTYPE is A.DTYPE is torch.bfloat16
    finally:
        import bench.decode_ab as A

        B.configure(128, "bf16", A)
    assert B.page_bytes_of(16) == 64 << 10 and A.D == 128 and A.DTYPE is torch.bfloat16
