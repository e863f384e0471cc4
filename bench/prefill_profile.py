"""One launch each of cute_attn prefill and cuDNN SDPA per case, inside NVTX ranges, for Nsight Compute.

    ncu --clock-control none --nvtx --nvtx-include "ours/" --nvtx-include "cudnn/" \
        --section SpeedOfLight --section WarpStateStats ... python3 -m bench.prefill_profile [case ...]

A case is ``hd<qk>[/<vo>]-<causal|full>-<batch>x<seqlen>`` (default: the issue's hd128 16k cases and the 1k
causal cases). Without ncu it prints the time of each launch (CUDA events) so the two can be matched.
"""

from __future__ import annotations

import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

import cute_attn

from .common import profile_launch

DEFAULT = ["hd128-causal-1x16384", "hd128-full-1x16384", "hd128-causal-16x1024", "hd64-causal-16x1024"]


def parse(case: str):
    hd, mode, shape = case.split("-")
    hd = hd[2:]
    hd, hdv = (int(x) for x in hd.split("/")) if "/" in hd else (int(hd), int(hd))
    batch, seqlen = (int(x) for x in shape.split("x"))
    return hd, hdv, mode == "causal", batch, seqlen


def main(cases: list[str]) -> None:
    for case in cases or DEFAULT:
        hd, hdv, causal, batch, seqlen = parse(case)
        heads = 2048 // hd
        q = torch.randn(batch * seqlen, heads, hd, dtype=torch.bfloat16, device="cuda")
        k = torch.randn_like(q)
        v = torch.randn(batch * seqlen, heads, hdv, dtype=torch.bfloat16, device="cuda")
        indptr = list(range(0, batch * seqlen + 1, seqlen))
        w = cute_attn.BatchPrefillWithRaggedKVCacheWrapper()
        w.plan(indptr, indptr, heads, heads, hd, hdv, causal=causal, q_data_type=torch.bfloat16)
        out = torch.empty(batch * seqlen, heads, hdv, dtype=torch.bfloat16, device="cuda")
        w.run(q, k, v, out=out)  # load the artifact outside the range
        qb, kb, vb = (t.view(batch, seqlen, heads, -1).transpose(1, 2) for t in (q, k, v))
        torch.cuda.synchronize()
        for name, fn in (("ours", lambda: w.run(q, k, v, out=out)),
                         ("cudnn", lambda: F.scaled_dot_product_attention(qb, kb, vb, is_causal=causal))):
            with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
                profile_launch(f"{case} {name}", name, fn)


if __name__ == "__main__":
    main(sys.argv[1:])
