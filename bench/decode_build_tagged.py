"""Build the bf16 hd128 decode kernel of whichever checkout is on PYTHONPATH (with the build switches in the
environment) under the symbol ``decode_bf16_headdim128_sm90a__<tag>``, file ``<out>/<symbol>.so``, for
``bench/decode_multi_build.py`` (distinct symbols: libraries loaded side by side cannot resolve each
other's exported helpers). CPU only:

    PYTHONPATH=<main checkout> python3 bench/decode_build_tagged.py main <out>
    CUTE_ATTN_DECODE_<SWITCH>=1 PYTHONPATH=<checkout> python3 bench/decode_build_tagged.py <tag> <out>

(a switch that keeps main's launch ABI: not ``CUTE_ATTN_DECODE_PTR_ARGS``).
"""

from __future__ import annotations

import os
import sys

import torch

from cute_attn.artifacts import link_compiled
from cute_attn.decode import _decode_spec


def main():
    tag, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    spec = _decode_spec(torch.bfloat16, 128)
    name = f"{spec.name}__{tag}"
    so = link_compiled(spec.compile(), out, name)
    print(so)


if __name__ == "__main__":
    main()
