"""API input validation on the host: every error names the argument. CPU tensors only."""

import pytest
import torch

import cute_attn
from cute_attn import DeviceError

bf16 = torch.bfloat16


def paged_args(nnz=3, hk=2, d=64, pages=4, page_size=16, batch=2, dtype=bf16):
    return dict(
        append_key=torch.randn(nnz, hk, d).to(dtype),
        append_value=torch.randn(nnz, hk, d).to(dtype),
        batch_indices=torch.zeros(nnz, dtype=torch.int32),
        positions=torch.arange(nnz, dtype=torch.int32),
        paged_kv_cache=(torch.zeros(pages, page_size, hk, d, dtype=dtype), torch.zeros(pages, page_size, hk, d, dtype=dtype)),
        kv_indices=torch.arange(pages, dtype=torch.int32),
        kv_indptr=torch.tensor([0, 2, 4][: batch + 1], dtype=torch.int32),
        kv_last_page_len=torch.tensor([16, 16][:batch], dtype=torch.int32),
    )


def test_valid_paged_args_reach_the_device_check():
    with pytest.raises(DeviceError, match="Hopper"):
        cute_attn.append_paged_kv_cache(**paged_args())


@pytest.mark.parametrize(
    "change,exc,match",
    [
        (dict(append_key=torch.randn(3, 2, 64)), TypeError, "append_key must have dtype"),
        (dict(append_value=torch.randn(3, 2, 64).half()), TypeError, "append_value"),
        (dict(append_value=torch.randn(3, 2, 32).bfloat16()), ValueError, "append_value shape"),
        (dict(batch_indices=torch.zeros(3, dtype=torch.int64)), TypeError, "batch_indices"),
        (dict(positions=torch.zeros(2, dtype=torch.int32)), ValueError, "positions must have length 3"),
        (dict(paged_kv_cache=torch.zeros(4, 3, 16, 2, 64, dtype=bf16)), ValueError, "paged_kv_cache dim 1"),
        (dict(paged_kv_cache=(torch.zeros(4, 16, 2, 64, dtype=bf16),)), ValueError, "pair"),
        (dict(paged_kv_cache=(torch.zeros(4, 16, 4, 64, dtype=bf16),) * 2), ValueError, "num_kv_heads"),
        (dict(kv_indices=torch.tensor([0, 1, 2, 9], dtype=torch.int32)), ValueError, "kv_indices must lie in"),
        (dict(kv_indptr=torch.tensor([0, 3, 2], dtype=torch.int32)), ValueError, "non-decreasing"),
        (dict(kv_indptr=torch.tensor([0, 2, 5], dtype=torch.int32)), ValueError, "exceeds len"),
        (dict(kv_last_page_len=torch.tensor([16, 17], dtype=torch.int32)), ValueError, "kv_last_page_len"),
        (dict(batch_indices=torch.tensor([0, 2, 0], dtype=torch.int32)), ValueError, "batch_indices must lie"),
        (dict(positions=torch.tensor([0, 1, 32], dtype=torch.int32)), ValueError, r"positions\[2\]"),
        (dict(append_key=torch.randn(3, 2, 128).bfloat16()[..., ::2]), ValueError, "contiguous last dim"),
        (dict(append_key=torch.randn(3, 2, 68).bfloat16()[..., :64]), ValueError, "stride"),
        (dict(append_key="not a tensor"), TypeError, "append_key must be a torch.Tensor"),
    ],
)
def test_append_paged_kv_cache_errors(change, exc, match):
    args = paged_args()
    args.update(change)
    with pytest.raises(exc, match=match):
        cute_attn.append_paged_kv_cache(**args)


def test_append_bad_layout():
    with pytest.raises(ValueError, match="kv_layout"):
        cute_attn.append_paged_kv_cache(**paged_args(), kv_layout="NDH")


def test_hnd_cache_is_accepted_as_permuted_view():
    args = paged_args()
    args["paged_kv_cache"] = tuple(torch.zeros(4, 2, 16, 64, dtype=bf16) for _ in range(2))
    with pytest.raises(DeviceError):
        cute_attn.append_paged_kv_cache(**args, kv_layout="HND")


def test_get_batch_indices_positions_on_host():
    bi, pos = cute_attn.get_batch_indices_positions(
        torch.tensor([0, 2, 2, 5], dtype=torch.int32), torch.tensor([4, 1, 3], dtype=torch.int32), 5
    )
    assert bi.tolist() == [0, 0, 2, 2, 2]
    assert pos.tolist() == [2, 3, 0, 1, 2]
    with pytest.raises(ValueError, match="seq_lens must have length 3"):
        cute_attn.get_batch_indices_positions(torch.tensor([0, 2, 2, 5], dtype=torch.int32),
                                              torch.tensor([4, 1], dtype=torch.int32), 5)
    with pytest.raises(ValueError, match="nnz"):
        cute_attn.get_batch_indices_positions(torch.tensor([0, 1], dtype=torch.int32),
                                              torch.tensor([1], dtype=torch.int32), -1)


@pytest.mark.parametrize(
    "args,exc,match",
    [
        ((torch.randn(4, 2, 64), torch.zeros(4, 2), torch.randn(4, 2, 64), torch.zeros(4, 2)), TypeError, "v_a must have dtype"),
        ((torch.randn(4, 2, 64).bfloat16(), torch.zeros(4, 2).double(), torch.randn(4, 2, 64).bfloat16(), torch.zeros(4, 2)), TypeError, "s_a"),
        ((torch.randn(4, 2, 64).bfloat16(), torch.zeros(4, 2), torch.randn(4, 2, 32).bfloat16(), torch.zeros(4, 2)), ValueError, "v_b must have shape"),
        ((torch.randn(4, 2, 64).bfloat16(), torch.zeros(4, 3), torch.randn(4, 2, 64).bfloat16(), torch.zeros(4, 2)), ValueError, "s_a must have shape"),
        ((torch.randn(4, 2, 64).bfloat16(), torch.zeros(4, 2), torch.randn(4, 2, 64).half(), torch.zeros(4, 2)), TypeError, "v_b has dtype"),
    ],
)
def test_merge_state_errors(args, exc, match):
    with pytest.raises(exc, match=match):
        cute_attn.merge_state(*args)


def test_merge_states_errors_and_device():
    v = torch.randn(4, 3, 2, 64).bfloat16()
    with pytest.raises(ValueError, match="s must have shape"):
        cute_attn.merge_states(v, torch.zeros(4, 2, 2))
    with pytest.raises(ValueError, match="v must have 4 dims"):
        cute_attn.merge_states(v[0], torch.zeros(4, 3, 2))
    with pytest.raises(DeviceError):
        cute_attn.merge_states(v, torch.zeros(4, 3, 2))


def test_check_paged_cache():
    from cute_attn.page import check_paged_cache

    k = torch.zeros(5, 16, 2, 64, dtype=bf16)
    check_paged_cache(k, 16, 2, 64, 4, "NHD")
    with pytest.raises(ValueError, match=r"expected \(num_pages, page_size=8"):
        check_paged_cache(k, 8, 2, 64, 4, "NHD")
    with pytest.raises(ValueError, match=r"kv_indices must lie in \[0, num_pages=5\), got max 5"):
        check_paged_cache(k, 16, 2, 64, 5, "HND")


def test_public_signatures_are_the_issues():
    """The API shapes issues 4, 5 and 6 ask for (FlashInfer-like): names, order and keyword-only arguments."""
    import inspect

    def params(fn):
        return [(p.name, p.kind.name, p.default) for p in inspect.signature(fn).parameters.values()]

    kw = "KEYWORD_ONLY"
    assert params(cute_attn.prefill) == [
        ("q", "POSITIONAL_OR_KEYWORD", inspect.Parameter.empty), ("k", "POSITIONAL_OR_KEYWORD", inspect.Parameter.empty),
        ("v", "POSITIONAL_OR_KEYWORD", inspect.Parameter.empty), ("causal", kw, False), ("sm_scale", kw, None),
        ("return_lse", kw, False), ("out", kw, None)]
    names = lambda fn: [p.name for p in inspect.signature(fn).parameters.values()]  # noqa: E731
    assert names(cute_attn.BatchPrefillWithRaggedKVCacheWrapper.plan)[:6] == [
        "self", "qo_indptr", "kv_indptr", "num_qo_heads", "num_kv_heads", "head_dim_qk"]
    assert names(cute_attn.BatchPrefillWithRaggedKVCacheWrapper.run)[:4] == ["self", "q", "k", "v"]
    assert names(cute_attn.BatchPrefillWithPagedKVCacheWrapper.plan)[:10] == [
        "self", "qo_indptr", "kv_indptr", "kv_indices", "kv_last_page_len", "num_qo_heads", "num_kv_heads", "head_dim",
        "page_size", "causal"]
    assert names(cute_attn.BatchPrefillWithPagedKVCacheWrapper.run)[:3] == ["self", "q", "paged_kv_cache"]
    assert names(cute_attn.BatchDecodeWithPagedKVCacheWrapper.__init__)[:4] == [
        "self", "workspace_buffer", "kv_layout", "use_cuda_graph"]
    assert names(cute_attn.BatchDecodeWithPagedKVCacheWrapper.plan)[:8] == [
        "self", "kv_indptr", "kv_indices", "kv_last_page_len", "num_qo_heads", "num_kv_heads", "head_dim", "page_size"]
    run = inspect.signature(cute_attn.BatchDecodeWithPagedKVCacheWrapper.run).parameters
    assert list(run)[:3] == ["self", "q", "paged_kv_cache"] and run["return_lse"].default is False
