"""Does the placement of pages cost streaming rate? cute_attn decode at page 16 with the page ids of
``bench.decode`` (a random permutation of the pages) against the identity (each request's pages in
address order), NHD and HND, in one process.

    python -m bench.decode_placement
"""

from __future__ import annotations

import torch

import cute_attn

from .common import time_ms
from .decode import DTYPE, HK, HQ, D, paged_inputs


def main() -> None:
    for name, kv_lens in (("64 x 4k", [4096] * 64), ("16 x 16k", [16384] * 16), ("1 x 32k", [32768])):
        kv_bytes = sum(kv_lens) * HK * D * 2 * 2
        for layout in ("NHD", "HND"):
            cache, indptr, indices, last = paged_inputs(kv_lens, 16, layout)
            q = torch.randn(len(kv_lens), HQ, D, dtype=DTYPE, device="cuda")
            for order, idx in (("random", indices), ("identity", torch.arange(indices.numel(), dtype=torch.int32))):
                w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(kv_layout=layout)
                w.plan(indptr, idx, last, HQ, HK, D, 16)
                ms = time_ms(lambda: w.run(q, cache))
                print(f"{name} {layout} {order}: {ms * 1e3:.1f} us, {kv_bytes / ms / 1e6:.0f} GB/s", flush=True)
            del cache
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
