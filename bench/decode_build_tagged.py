"""Build the bf16 hd128 decode kernel of whichever checkout is on PYTHONPATH (with the build switches in the
environment) under the symbol ``decode_bf16_headdim128_sm90a__<tag>``, file ``<out>/<symbol>.so``, for
``bench/decode_multi_build.py`` (distinct symbols: libraries loaded side by side cannot resolve each
other's exported helpers). CPU only:

    PYTHONPATH=<main checkout> python3 bench/decode_build_tagged.py main <out>
    CUTE_ATTN_DECODE_<SWITCH>=1 PYTHONPATH=<checkout> python3 bench/decode_build_tagged.py <tag> <out>
    PYTHONPATH=<checkout> python3 bench/decode_build_tagged.py c16 <out> stages=3,cluster=16
    PYTHONPATH=<checkout> python3 bench/decode_build_tagged.py dyn <out> dyn_heads=1

(a switch that keeps main's launch ABI: not ``CUTE_ATTN_DECODE_PTR_ARGS``).
"""

from __future__ import annotations

import dataclasses
import os
import sys

import torch

from cute_attn.artifacts import link_compiled
from cute_attn.decode import _decode_spec


def main():
    tag, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    spec = _decode_spec(torch.bfloat16, 128)
    if len(sys.argv) > 3:  # spec fields, e.g. "stages=3,cluster=16" (session 14: the one-item variants)
        fields = {f.name: f.type for f in dataclasses.fields(spec)}
        values = {k: int(v) for k, v in (f.split("=") for f in sys.argv[3].split(","))}
        spec = dataclasses.replace(spec, **{k: bool(v) if fields[k] in (bool, "bool") else v for k, v in values.items()})
    name = f"{spec.name}__{tag}"
    so = link_compiled(spec.compile(), out, name)
    print(so)


if __name__ == "__main__":
    main()
