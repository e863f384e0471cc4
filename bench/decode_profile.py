"""One launch each of cute_attn decode and cuDNN SDPA decode per case, inside NVTX ranges, for Nsight Compute.

    ncu --clock-control none --nvtx --nvtx-include "ours/" --nvtx-include "cudnn/" \
        --section SpeedOfLight --section WarpStateStats ... python3 -m bench.decode_profile [case ...]

A case is ``<batch>x<kv_len>`` (default ``64x4096``), page size 16, NHD, the shapes of ``bench.decode``.
Without ncu it prints the time of each launch (CUDA events) so the two can be matched.
``DECODE_PROFILE_DIRTY_L2=1``: a 256 MB buffer is zeroed right before each profiled launch (L2 full of
dirty lines, as after triton's do_bench flush; profile with ``--cache-control none``).
"""

from __future__ import annotations

import os
import sys

import torch

import cute_attn

from .common import profile_launch
from .decode import DTYPE, HK, HQ, D, paged_inputs, sdpa_decode


def main(cases: list[str]) -> None:
    from torch.nn.attention import SDPBackend

    dirty = None
    if os.environ.get("DECODE_PROFILE_DIRTY_L2") == "1":
        dirty = torch.empty(64 << 20, dtype=torch.float32, device="cuda")
    for case in cases or ["64x4096"]:
        batch, kv_len = (int(x) for x in case.split("x"))
        cache, indptr, indices, last = paged_inputs([kv_len] * batch, 16)
        q = torch.randn(batch, HQ, D, dtype=DTYPE, device="cuda")
        w = cute_attn.BatchDecodeWithPagedKVCacheWrapper()
        w.plan(indptr, indices, last, HQ, HK, D, 16)
        kd = torch.randn(batch, HK, kv_len, D, dtype=DTYPE, device="cuda")
        vd = torch.randn_like(kd)
        q4 = q.unsqueeze(2)
        for name, fn in (("ours", lambda: w.run(q, cache)),
                         ("cudnn", lambda: sdpa_decode(q4, kd, vd, SDPBackend.CUDNN_ATTENTION))):
            if dirty is None:
                profile_launch(f"{case} {name}", name, fn)  # the warm-up call loads the kernel outside the range
                continue
            # L2 full of dirty lines before the launch, as after do_bench's flush (ncu --cache-control none)
            fn()
            dirty.zero_()
            torch.cuda.synchronize()
            torch.cuda.nvtx.range_push(name)
            fn()
            torch.cuda.nvtx.range_pop()
            torch.cuda.synchronize()


if __name__ == "__main__":
    main(sys.argv[1:])
