"""CPU: the fuzz cases of ``tests/test_gpu_fuzz.py`` through the host side: the cases are what they claim (request
lengths, shared prefixes), every decode case's split-KV schedule covers each row once (``check_schedule``), and both
wrappers plan every case on the host, one wrapper per API re-planned case after case as on the GPU."""

import pytest
import torch

import cute_attn
import cute_attn.decode as D
import fuzz_cases as F
from test_decode_plan import check_schedule, table

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def test_cases_are_reproducible_and_vary():
    s = F.seed()
    assert F.decode_case(s, 3) == F.decode_case(s, 3) and F.prefill_case(s, 3) == F.prefill_case(s, 3)
    assert F.decode_case(s, 3) != F.decode_case(s + 1, 3)
    draws = [F.decode_case(s, i) for i in range(200)]
    lens = [n for c in draws for n in c["kv_lens"]]
    # the draw reaches what the GPU fuzz is for: empty and one-token requests, splits, every page size and head dim
    assert 0 in lens and 1 in lens and max(lens) > 9000
    assert {c["page_size"] for c in draws} == set(F.PAGE_SIZES) and {c["d"] for c in draws} == set(F.HEAD_DIMS)


@pytest.mark.parametrize("i", range(40))
def test_decode_case_schedule(i):
    c = F.decode_case(F.seed(), i)
    assert 1 <= len(c["kv_lens"]) <= 9 and sum(n > 8000 for n in c["kv_lens"]) <= 1
    check_schedule(c["kv_lens"], c["hq"], c["hk"], c["d"])


def test_decode_cases_plan_on_one_wrapper():
    ws = {layout: cute_attn.BatchDecodeWithPagedKVCacheWrapper(device="cpu", kv_layout=layout) for layout in F.LAYOUTS}
    for i in range(40):
        c = F.decode_case(F.seed(), i)
        w = ws[c["layout"]]
        w.plan(*table(c["kv_lens"], c["page_size"]), c["hq"], c["hk"], c["d"], c["page_size"], sm_scale=c["sm_scale"],
               q_data_type=DTYPES[c["dtype"]], sort_pages=c["sort_pages"])
        assert w._plan.spec.head_dim == c["d"] and w._plan.page_size == c["page_size"]


def test_prefill_cases_plan_on_one_wrapper():
    ws = {layout: cute_attn.BatchPrefillWithPagedKVCacheWrapper(device="cpu", kv_layout=layout) for layout in F.LAYOUTS}
    for i in range(30):
        c = F.prefill_case(F.seed(), i)
        assert all(0 <= q <= kv for q, kv in zip(c["q_lens"], c["kv_lens"]))
        full = min(c["kv_lens"]) // c["page_size"]
        assert 0 <= c["shared_prefix_pages"] <= full
        qo = [0] + torch.tensor(c["q_lens"], dtype=torch.long).cumsum(0).tolist()
        ws[c["layout"]].plan(torch.tensor(qo, dtype=torch.int32), *table(c["kv_lens"], c["page_size"]), c["hq"],
                             c["hk"], c["d"], c["page_size"], causal=c["causal"], sm_scale=c["sm_scale"],
                             q_data_type=DTYPES[c["dtype"]])


@pytest.mark.parametrize("i", range(4))
def test_decode_graph_case_tables_plan_in_graph_mode(i):
    """The graph fuzz's tables share one batch size, fit the cache, the first is the largest; a graph-mode wrapper
    (on the host) plans all of them after the first (its buffers are sized by the first plan)."""
    c = F.decode_graph_case(F.seed(), i)
    ps = c["page_size"]
    pages = [sum((n + ps - 1) // ps for n in lens) for lens in c["tables"]]
    assert len({len(t) for t in c["tables"]}) == 1 and max(pages) == pages[0] <= c["num_pages"]
    w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(device="cpu", kv_layout=c["layout"], use_cuda_graph=True)
    for lens in c["tables"]:
        w.plan(*table(lens, ps), c["hq"], c["hk"], c["d"], ps, q_data_type=DTYPES[c["dtype"]])
        # graph mode: a grid of one CTA per SM and the default (4-stage) variant, whatever the batch
        assert w._plan.grid == D.DEFAULT_NUM_SMS and w._plan.spec.stages == 0


def test_dense_cases_plan_on_one_wrapper():
    w = cute_attn.BatchPrefillWithRaggedKVCacheWrapper(device="cpu")
    for i in range(24):
        c = F.dense_case(F.seed(), i)
        qo = [0] + torch.tensor(c["q_lens"], dtype=torch.long).cumsum(0).tolist()
        kv = [0] + torch.tensor(c["kv_lens"], dtype=torch.long).cumsum(0).tolist()
        w.plan(torch.tensor(qo, dtype=torch.int32), torch.tensor(kv, dtype=torch.int32), c["hq"], c["hk"], c["hd"],
               c["hdv"], causal=c["causal"], sm_scale=c["sm_scale"], q_data_type=DTYPES[c["dtype"]])
