"""GPU fuzz: random serving-shaped batches (``tests/fuzz_cases.py``) through ONE wrapper per API, re-planned for every
case as a serving loop does (batch, lengths, heads, head dim, page size, dtype and layout all change from one plan to
the next), each output checked against the float64 reference with NaN-poisoned outputs and NaN in every cache slot
that no request owns. The paged prefill is also checked bit for bit against the dense kernel on the gathered K/V.
Decode also runs under CUDA-graph replay (one capture, new plans), and a serving loop chains append_paged_kv_cache,
the paged prefill and decode steps over one cache.

``CUTE_ATTN_FUZZ_SEED`` picks another run, ``CUTE_ATTN_FUZZ_CASES`` the number of cases per test; a failure names the
seed and the case."""

import math

import pytest
import torch

import cute_attn
import fuzz_cases as F
from cute_attn import reference as R
from pages import random_page_table
from test_gpu_decode import check as decode_check
from test_gpu_decode import make_cache as decode_cache
from test_gpu_decode import reference as decode_reference
from test_gpu_memory_ops import bits
from test_gpu_prefill_paged import check_dense, check_reference, indptr_of, make_cache, make_table
from graph_helpers import capture
from test_gpu_prefill import check as dense_check

pytestmark = pytest.mark.gpu
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@pytest.fixture(autouse=True)
def poison(monkeypatch):
    monkeypatch.setenv("CUTE_ATTN_POISON", "1")


def _cases(make, n):
    s = F.seed()
    return [(s, i, make(s, i)) for i in range(F.count(n))]


def _run_cases(name, make, n, run, salt, keep=lambda c: True):
    """``run(gen, case)`` on each of the ``n`` drawn cases that ``keep`` accepts (``gen``: a torch generator seeded from the
    fuzz seed, ``salt`` and the case index); a failure names the seed and the case."""
    ran = 0
    for s, i, c in _cases(make, n):
        if not keep(c):
            continue
        gen = torch.Generator().manual_seed(s * 1000 + salt + i)
        try:
            run(gen, c)
        except Exception as e:
            raise AssertionError(f"{name} fuzz seed {s} case {i}: {c}") from e
        ran += 1
    assert ran, f"no {name} case drawn"


def _decode_one(w, gen, c):
    dtype = DTYPES[c["dtype"]]
    kv_lens, hq, hk, d, ps, layout = c["kv_lens"], c["hq"], c["hk"], c["d"], c["page_size"], c["layout"]
    num_pages, indptr, indices, last = random_page_table(gen, kv_lens, ps)
    k, v = decode_cache(gen, kv_lens, indptr, indices, num_pages, ps, hk, d, dtype, layout)
    q = torch.randn(len(kv_lens), hq, d, generator=gen).to(dtype)
    w.plan(indptr, indices.cuda() if c["ids_on_gpu"] else indices, last, hq, hk, d, ps, sm_scale=c["sm_scale"],
           q_data_type=dtype, sort_pages=c["sort_pages"])
    out, lse = w.run(q.cuda(), (k.cuda(), v.cuda()), return_lse=True)
    assert out.shape == q.shape and lse.shape == q.shape[:2] and out.dtype == dtype
    scale = 1 / math.sqrt(d) if c["sm_scale"] is None else c["sm_scale"]
    decode_check(out, lse, *decode_reference(q, k, v, indptr, indices, last, scale, layout))


@pytest.mark.parametrize("layout", ["NHD", "HND"])
def test_decode_fuzz_one_wrapper(layout):
    """Decode: one wrapper per cache layout, re-planned for each random case of that layout (splits, skew, empty and
    one-token requests, page sizes 1-128, MHA / GQA / MQA with up to 96 query heads per kv head)."""
    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(kv_layout=layout)
    _run_cases("decode", F.decode_case, 40, lambda gen, c: _decode_one(w, gen, c), 0, lambda c: c["layout"] == layout)


def _prefill_one(w, gen, c):
    dtype = DTYPES[c["dtype"]]
    q_lens, kv_lens, hq, hk, d, ps = c["q_lens"], c["kv_lens"], c["hq"], c["hk"], c["d"], c["page_size"]
    causal, layout = c["causal"], c["layout"]
    num_pages, indptr, indices, last = make_table(gen, kv_lens, ps, shared_prefix_pages=c["shared_prefix_pages"])
    k, v = make_cache(gen, num_pages, ps, hk, d, dtype, indptr, indices, kv_lens)
    if layout == "HND":
        k, v = k.transpose(1, 2).contiguous(), v.transpose(1, 2).contiguous()
    qo = indptr_of(q_lens)
    q = torch.randn(qo[-1], hq, d, generator=gen).to(dtype).cuda()
    scale = 1 / math.sqrt(d) if c["sm_scale"] is None else c["sm_scale"]
    w.plan(torch.tensor(qo, dtype=torch.int32), indptr, indices, last, hq, hk, d, ps, causal=causal,
           sm_scale=c["sm_scale"], q_data_type=dtype)
    out, lse = w.run(q, (k, v), return_lse=True)
    assert out.shape == (qo[-1], hq, d) and lse.shape == (qo[-1], hq) and out.dtype == dtype
    check_reference(out, lse, q, k, v, qo, indptr, indices, last, causal, scale, layout)
    check_dense(out, lse, q, k, v, qo, indptr, indices, last, causal, scale, layout, hq, hk, d)


@pytest.mark.parametrize("layout", ["NHD", "HND"])
def test_paged_prefill_fuzz_one_wrapper(layout):
    """Paged prefill and append: one wrapper per cache layout, re-planned for each random case of that layout
    (q_len <= kv_len, empty queries, shared prefix pages, page sizes 1-256, causal or not), against the reference
    and bit for bit against the dense kernel on the gathered K/V."""
    w = cute_attn.BatchPrefillWithPagedKVCacheWrapper(kv_layout=layout)
    _run_cases("paged prefill", F.prefill_case, 30, lambda gen, c: _prefill_one(w, gen, c), 500,
               lambda c: c["layout"] == layout)


def test_decode_graph_fuzz():
    """Decode in CUDA-graph mode: per random geometry, one capture of run(), then a plan() of each random batch of
    that batch size (other lengths, other pages; the first the largest) and a replay, each against the reference."""
    _run_cases("decode graph", F.decode_graph_case, 4, _decode_graph_one, 900)


def _graph_run(w, q, cache, graph=None):
    """``w.run(q, cache, return_lse=True)`` under one CUDA graph: captured at the first call (after an eager run that
    loads the kernel), replayed at every call (the first included) into NaN-poisoned outputs. Returns ``(graph, (out,
    lse))``, to pass back in as ``graph``."""
    if graph is None:
        w.run(q, cache)
        graph = capture(lambda: w.run(q, cache, return_lse=True))
    g, (out, lse) = graph
    out.fill_(float("nan"))
    lse.fill_(float("nan"))
    g.replay()
    torch.cuda.synchronize()
    return graph


def _decode_graph_one(gen, c):
    dtype = DTYPES[c["dtype"]]
    hq, hk, d, ps, layout, num_pages = c["hq"], c["hk"], c["d"], c["page_size"], c["layout"], c["num_pages"]
    k = torch.randn(num_pages, ps, hk, d, generator=gen).to(dtype)
    v = torch.randn(num_pages, ps, hk, d, generator=gen).to(dtype)
    if layout == "HND":
        k, v = k.transpose(1, 2).contiguous(), v.transpose(1, 2).contiguous()
    kc, vc = k.cuda(), v.cuda()
    batch = len(c["tables"][0])
    q = torch.randn(batch, hq, d, generator=gen).to(dtype).cuda()
    buf = torch.empty(num_pages, dtype=torch.int32, device="cuda") if c["indices_buffer"] else None
    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(kv_layout=layout, use_cuda_graph=True,
                                                     paged_kv_indices_buffer=buf)
    graph = None
    for lens in c["tables"]:
        per = [(n + ps - 1) // ps for n in lens]
        indptr = torch.tensor([0] + torch.tensor(per, dtype=torch.long).cumsum(0).tolist(), dtype=torch.int32)
        indices = torch.randperm(num_pages, generator=gen)[: int(indptr[-1])].to(torch.int32)
        last = torch.tensor([(n - 1) % ps + 1 if n else 0 for n in lens], dtype=torch.int32)
        w.plan(indptr, indices, last, hq, hk, d, ps, q_data_type=dtype)
        graph = _graph_run(w, q, (kc, vc), graph)
        out, lse = graph[1]
        decode_check(out, lse, *decode_reference(q.cpu(), k, v, indptr, indices, last, 1 / math.sqrt(d), layout))


def test_dense_prefill_fuzz_one_wrapper():
    """Ragged (dense) prefill: one wrapper re-planned for each random batch (every shipped head-dim pair, GQA, empty
    requests, requests with queries and no keys, keys beyond the queries, causal or not)."""
    w = cute_attn.BatchPrefillWithRaggedKVCacheWrapper()
    _run_cases("dense prefill", F.dense_case, 24, lambda gen, c: _dense_one(w, gen, c), 700)


def _dense_one(w, gen, c):
    dtype = DTYPES[c["dtype"]]
    qo, kv = indptr_of(c["q_lens"]), indptr_of(c["kv_lens"])
    hq, hk, hd, hdv = c["hq"], c["hk"], c["hd"], c["hdv"]
    q = torch.randn(qo[-1], hq, hd, generator=gen).to(dtype).cuda()
    k = torch.randn(kv[-1], hk, hd, generator=gen).to(dtype).cuda()
    v = torch.randn(kv[-1], hk, hdv, generator=gen).to(dtype).cuda()
    w.plan(torch.tensor(qo, dtype=torch.int32), torch.tensor(kv, dtype=torch.int32), hq, hk, hd, hdv,
           causal=c["causal"], sm_scale=c["sm_scale"], q_data_type=dtype)
    out, lse = w.run(q, k, v, return_lse=True)
    assert out.shape == (qo[-1], hq, hdv) and lse.shape == (qo[-1], hq) and out.dtype == dtype
    scale = 1 / math.sqrt(hd) if c["sm_scale"] is None else c["sm_scale"]
    dense_check(out, lse, q, k, v, qo, kv, c["causal"], scale)


def test_serving_loop_fuzz():
    """What an engine runs: append the prompts' K/V into a paged cache (``append_paged_kv_cache``), prefill them through
    the paged wrapper, then decode step by step, each step appending one token per request (a new page from a shuffled
    free list when the last is full) and re-planning one decode wrapper (eager, or replaying one CUDA-graph capture).
    After every append the cache equals the reference append bit for bit (never-written slots stay NaN); every
    prefill / decode output meets the float64 reference over that cache."""
    _run_cases("serving loop", F.serving_case, 3, _serving_one, 800)


def _serving_one(gen, c):
    dtype = DTYPES[c["dtype"]]
    hq, hk, d, ps, layout, steps = c["hq"], c["hk"], c["d"], c["page_size"], c["layout"], c["steps"]
    lens = list(c["prompts"])
    batch = len(lens)
    num_pages = sum(-(-(n + steps) // ps) for n in lens) + 5
    free = torch.randperm(num_pages, generator=gen).tolist()
    pages = [[] for _ in range(batch)]
    shape = (num_pages, ps, hk, d) if layout == "NHD" else (num_pages, hk, ps, d)
    k_ref = torch.full(shape, float("nan"), dtype=dtype)
    v_ref = torch.full(shape, float("nan"), dtype=dtype)
    kc, vc = k_ref.cuda(), v_ref.cuda()
    scale = 1 / math.sqrt(d)

    def table():
        indptr = torch.tensor([0] + torch.tensor([len(p) for p in pages]).cumsum(0).tolist(), dtype=torch.int32)
        indices = torch.tensor([x for p in pages for x in p], dtype=torch.int32)
        last = torch.tensor([(n - 1) % ps + 1 for n in lens], dtype=torch.int32)
        return indptr, indices, last

    def append(new):  # new[b] rows for request b; pages grow first
        for b, m in enumerate(new):
            lens[b] += m
            while len(pages[b]) * ps < lens[b]:
                pages[b].append(free.pop())
        indptr, indices, last = table()
        append_indptr = torch.tensor([0] + torch.tensor(new).cumsum(0).tolist(), dtype=torch.int32)
        nnz = int(append_indptr[-1])
        k_new = torch.randn(nnz, hk, d, generator=gen).to(dtype)
        v_new = torch.randn(nnz, hk, d, generator=gen).to(dtype)
        seq = torch.tensor(lens, dtype=torch.int32)
        bi, pos = cute_attn.get_batch_indices_positions(append_indptr, seq, nnz)
        R.append_paged_kv_cache(k_new, v_new, bi, pos, k_ref, v_ref, indices, indptr, kv_layout=layout)
        bi_d, pos_d = cute_attn.get_batch_indices_positions(append_indptr.cuda(), seq.cuda(), nnz)
        cute_attn.append_paged_kv_cache(k_new.cuda(), v_new.cuda(), bi_d, pos_d, (kc, vc), indices.cuda(),
                                        indptr.cuda(), last.cuda(), kv_layout=layout)
        torch.cuda.synchronize()
        assert torch.equal(bits(kc.cpu()), bits(k_ref)) and torch.equal(bits(vc.cpu()), bits(v_ref)), "append"
        return indptr, indices, last

    # prefill: the prompts' K/V appended, then causal attention of the prompts over them
    prompts = list(lens)
    lens[:] = [0] * batch
    indptr, indices, last = append(prompts)
    qo = indptr_of(prompts)
    q = torch.randn(qo[-1], hq, d, generator=gen).to(dtype).cuda()
    pw = cute_attn.BatchPrefillWithPagedKVCacheWrapper(kv_layout=layout)
    pw.plan(torch.tensor(qo, dtype=torch.int32), indptr, indices, last, hq, hk, d, ps, causal=True, q_data_type=dtype)
    out, lse = pw.run(q, (kc, vc), return_lse=True)
    check_reference(out, lse, q, kc, vc, qo, indptr, indices, last, True, scale, layout)

    # decode steps
    graph_mode = c["use_cuda_graph"]
    buf = torch.empty(num_pages, dtype=torch.int32, device="cuda") if graph_mode else None
    dw = cute_attn.BatchDecodeWithPagedKVCacheWrapper(kv_layout=layout, use_cuda_graph=graph_mode,
                                                      paged_kv_indices_buffer=buf)
    q_dev = torch.empty(batch, hq, d, dtype=dtype, device="cuda")
    graph = None
    for _ in range(steps):
        indptr, indices, last = append([1] * batch)
        q_step = torch.randn(batch, hq, d, generator=gen).to(dtype)
        q_dev.copy_(q_step)
        dw.plan(indptr, indices, last, hq, hk, d, ps, q_data_type=dtype)
        if not graph_mode:
            out, lse = dw.run(q_dev, (kc, vc), return_lse=True)
        else:
            graph = _graph_run(dw, q_dev, (kc, vc), graph)
            out, lse = graph[1]
        decode_check(out, lse, *decode_reference(q_step, k_ref, v_ref, indptr, indices, last, scale, layout))
