"""Merging partial attention states (split-KV, cascade / shared-prefix attention).

A partial state is an attention output ``v`` over a subset of the keys with the natural-log LSE ``s``
of its scaled scores. Merged: ``s = log(sum_i exp(s_i))``, ``v = sum_i exp(s_i - s) v_i``. An LSE of
``-inf`` marks an empty part (weight 0); if every part is empty the result is ``v = 0, s = -inf``.
"""

from __future__ import annotations

import torch

from . import _checks as C
from .artifacts import get_kernel
from .specs import MergeStateSpec, MergeStatesSpec


def _check_lse(name: str, s: torch.Tensor, shape: tuple) -> None:
    C.tensor(name, s, dtypes=(torch.float32,))
    C.shape(name, s, shape)


def _check_head_dim(name: str, d: int) -> None:
    if d == 0:
        raise ValueError(f"{name} head_dim must be positive")


def merge_state(v_a: torch.Tensor, s_a: torch.Tensor, v_b: torch.Tensor, s_b: torch.Tensor):
    """Merge two partial states. ``v_*``: ``(n, num_heads, head_dim)`` bf16/fp16; ``s_*``: ``(n, num_heads)``
    float32. Returns ``(v, s)`` of the same shapes and dtypes."""
    C.tensor("v_a", v_a, ndim=3)
    dtype = C.value_dtype("v_a", v_a)
    C.tensor("v_b", v_b, ndim=3)
    C.same_dtype("v_a", v_a, v_b=v_b)
    C.shape("v_b", v_b, tuple(v_a.shape))
    n, h, d = v_a.shape
    _check_head_dim("v_a", d)
    _check_lse("s_a", s_a, (n, h))
    _check_lse("s_b", s_b, (n, h))
    C.aligned_rows("v_a", v_a)
    C.aligned_rows("v_b", v_b)
    C.cuda_device(v_a=v_a, s_a=s_a, v_b=v_b, s_b=s_b)
    v_out = C.empty((n, h, d), v_a.dtype, v_a.device)
    s_out = C.empty((n, h), torch.float32, v_a.device)
    if n * h == 0:
        return v_out, s_out
    with torch.cuda.device(v_a.device):
        get_kernel(MergeStateSpec(dtype=dtype))(v_a, s_a, v_b, s_b, v_out, s_out)
    return v_out, s_out


def merge_states(v: torch.Tensor, s: torch.Tensor):
    """Merge ``k`` partial states. ``v``: ``(n, k, num_heads, head_dim)`` bf16/fp16; ``s``: ``(n, k, num_heads)``
    float32. Returns ``(v (n, num_heads, head_dim), s (n, num_heads))``; ``k == 0`` gives empty states."""
    C.tensor("v", v, ndim=4)
    dtype = C.value_dtype("v", v)
    n, k, h, d = v.shape
    _check_head_dim("v", d)
    _check_lse("s", s, (n, k, h))
    C.aligned_rows("v", v)
    C.cuda_device(v=v, s=s)
    v_out = C.empty((n, h, d), v.dtype, v.device)
    s_out = C.empty((n, h), torch.float32, v.device)
    if k == 0:
        v_out.zero_()
        s_out.fill_(float("-inf"))
        return v_out, s_out
    if n * h == 0:
        return v_out, s_out
    with torch.cuda.device(v.device):
        get_kernel(MergeStatesSpec(dtype=dtype))(v, s, v_out, s_out)
    return v_out, s_out
