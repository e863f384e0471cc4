"""Host-side input validation shared by the API functions. Raises TypeError for a wrong type or dtype,
ValueError for a wrong shape, stride, device or value; every message names the argument."""

from __future__ import annotations

import math
import operator
import os

import torch

from .errors import DeviceError

VALUE_DTYPES = {torch.bfloat16: "bf16", torch.float16: "fp16"}
# The kernels assume 16-byte aligned rows: base address and every stride but the last a multiple of 16 bytes.
ALIGN_BYTES = 16


def softmax_scale(sm_scale, head_dim: int) -> float:
    """``sm_scale`` or its default ``1 / sqrt(head_dim)``; finite and positive (the kernels' running max is of the
    raw scores, so a scale <= 0 would overflow their exp2)."""
    scale = 1.0 / math.sqrt(head_dim) if sm_scale is None else float(sm_scale)
    if not (math.isfinite(scale) and scale > 0.0):
        raise ValueError(f"sm_scale must be finite and positive, got {sm_scale!r}")
    return scale


def tensor(name: str, t, *, ndim: int | None = None, dtypes=None) -> torch.Tensor:
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if ndim is not None and t.dim() != ndim:
        raise ValueError(f"{name} must have {ndim} dims, got shape {tuple(t.shape)}")
    if dtypes is not None and t.dtype not in dtypes:
        allowed = ", ".join(str(d).replace("torch.", "") for d in dtypes)
        raise TypeError(f"{name} must have dtype {allowed}, got {str(t.dtype).replace('torch.', '')}")
    return t


def value_dtype(name: str, t: torch.Tensor) -> str:
    tensor(name, t, dtypes=tuple(VALUE_DTYPES))
    return VALUE_DTYPES[t.dtype]


def same_dtype(ref_name: str, ref: torch.Tensor, **others: torch.Tensor) -> None:
    for name, t in others.items():
        if t.dtype != ref.dtype:
            raise TypeError(f"{name} has dtype {t.dtype} but {ref_name} has {ref.dtype}; they must match")


def shape(name: str, t: torch.Tensor, expected: tuple) -> None:
    """``expected`` may hold None for dims that are free."""
    if t.dim() != len(expected) or any(e is not None and e != s for e, s in zip(expected, t.shape)):
        want = "(" + ", ".join("*" if e is None else str(e) for e in expected) + ")"
        raise ValueError(f"{name} must have shape {want}, got {tuple(t.shape)}")


def aligned_rows(name: str, t: torch.Tensor) -> None:
    """Last dim contiguous; base and other strides 16-byte aligned (what the kernels' vector loads need)."""
    if t.dim() and t.shape[-1] > 1 and t.stride(-1) != 1:
        raise ValueError(f"{name} must have a contiguous last dim (stride 1), got strides {t.stride()}")
    elem = t.element_size()
    if t.numel() and t.data_ptr() % ALIGN_BYTES:
        raise ValueError(f"{name} must start at a {ALIGN_BYTES}-byte aligned address")
    for i, (size, stride) in enumerate(zip(t.shape[:-1], t.stride()[:-1])):
        if size > 1 and (stride * elem) % ALIGN_BYTES:
            raise ValueError(
                f"{name} stride {stride} of dim {i} is not a multiple of {ALIGN_BYTES // elem} elements "
                f"({ALIGN_BYTES} bytes)"
            )
    if t.shape[-1] * elem % ALIGN_BYTES:
        raise ValueError(f"{name} last dim {t.shape[-1]} must be a multiple of {ALIGN_BYTES // elem}")


def distinct_elements(name: str, t: torch.Tensor) -> None:
    """An output tensor whose elements are distinct memory: no stride 0 on a dim of size > 1 (an expanded
    tensor), which the kernels would write from several threads at once."""
    for i, (size, stride) in enumerate(zip(t.shape, t.stride())):
        if size > 1 and stride == 0:
            raise ValueError(f"{name} has stride 0 in dim {i} (an expanded tensor): its elements overlap")


def int_list(name: str, values) -> list[int]:
    """The entries of a list/tuple index argument as ints. A float, a nested list or any other non-integer
    entry raises TypeError (``int()`` would truncate 5.7 to 5 silently)."""
    out = []
    for i, x in enumerate(values):
        try:
            out.append(operator.index(x))
        except TypeError:
            raise TypeError(f"{name}[{i}] must be an int, got {type(x).__name__} {x!r}") from None
    return out


def contiguous(name: str, t: torch.Tensor) -> None:
    if not t.is_contiguous():
        raise ValueError(f"{name} must be contiguous")


def index_vector(name: str, t, length: int | None = None) -> torch.Tensor:
    tensor(name, t, ndim=1, dtypes=(torch.int32,))
    if length is not None and t.shape[0] != length:
        raise ValueError(f"{name} must have length {length}, got {t.shape[0]}")
    contiguous(name, t)
    return t


def cuda_available(device: torch.device) -> None:
    """plan() for a CUDA device on a machine without one raises DeviceError (torch's own error would be an
    AssertionError or RuntimeError that names no argument)."""
    if not torch.cuda.is_available():
        raise DeviceError(
            f"cute_attn plans for {device} need a CUDA device and none is available "
            "(a host-only plan for inspection: construct the wrapper with device='cpu')"
        )


def cuda_device(**tensors: torch.Tensor) -> torch.device:
    """All tensors on one CUDA device of compute capability 9.0 (Hopper)."""
    items = list(tensors.items())
    first_name, first = items[0]
    if first.device.type != "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(
                f"cute_attn kernels need a Hopper GPU; {first_name} is on {first.device} and no CUDA device is available"
            )
        raise ValueError(f"{first_name} must be on a CUDA device, got {first.device}")
    for name, t in items[1:]:
        if t.device != first.device:
            raise ValueError(f"{name} is on {t.device} but {first_name} is on {first.device}")
    major, minor = torch.cuda.get_device_capability(first.device)
    if (major, minor) != (9, 0):
        raise DeviceError(f"cute_attn kernels are built for sm_90a (Hopper); {first.device} is sm_{major}{minor}")
    return first.device


def host_ints(t: torch.Tensor) -> list[int] | None:
    """Values of a CPU index tensor (checked without a device sync); None for device tensors."""
    return t.tolist() if t.device.type == "cpu" else None


def indptr_values(name: str, values: list[int]) -> None:
    if values[0] != 0:
        raise ValueError(f"{name}[0] must be 0, got {values[0]}")
    for i in range(len(values) - 1):
        if values[i + 1] < values[i]:
            raise ValueError(f"{name} must be non-decreasing; {name}[{i + 1}]={values[i + 1]} < {values[i]}")


def empty(shape, dtype: torch.dtype, device) -> torch.Tensor:
    """``torch.empty`` for kernel outputs. With ``CUTE_ATTN_POISON=1`` (tests, debugging) the buffer is
    filled with NaN first, so an element the kernel fails to write shows up as NaN."""
    t = torch.empty(shape, dtype=dtype, device=device)
    if os.environ.get("CUTE_ATTN_POISON") == "1":
        t.fill_(float("nan"))
    return t
