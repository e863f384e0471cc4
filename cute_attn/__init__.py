"""cute-attn: attention kernels for LLM serving on Hopper (sm_90a), written in the CuTe Python DSL.

Kernels are compiled ahead of time (``python -m cute_attn.build``) into an artifact directory and loaded
with ``tvm_ffi`` at first use; a GPU host needs neither the DSL compiler nor a package registry.

Conventions: tensors are NHD (``(tokens, heads, head_dim)``); every log-sum-exp (LSE) that the API takes
or returns is in the natural log.
"""

import os as _os

# In a source checkout the kernel and layout folders sit at the repository root; installed, setuptools
# maps them to cute_attn.kernels and cute_attn.layouts. Make the checkout import the same way.
_root = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
if not _os.path.isdir(_os.path.join(_os.path.dirname(__file__), "kernels")) and _os.path.isfile(
    _os.path.join(_root, "kernels", "__init__.py")
):
    __path__.append(_root)  # noqa: F821 (module __path__)

from .errors import ArtifactError, DeviceError  # noqa: E402
from .page import append_paged_kv_cache, get_batch_indices_positions  # noqa: E402
from .cascade import merge_state, merge_states  # noqa: E402
from .prefill import BatchPrefillWithRaggedKVCacheWrapper, prefill  # noqa: E402
from .decode import BatchDecodeWithPagedKVCacheWrapper  # noqa: E402
from .prefill_paged import BatchPrefillWithPagedKVCacheWrapper  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "ArtifactError",
    "DeviceError",
    "append_paged_kv_cache",
    "get_batch_indices_positions",
    "merge_state",
    "merge_states",
    "prefill",
    "BatchPrefillWithRaggedKVCacheWrapper",
    "BatchDecodeWithPagedKVCacheWrapper",
    "BatchPrefillWithPagedKVCacheWrapper",
]
