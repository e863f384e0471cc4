"""Static configuration of the kernels: tile tables and register budgets (pure Python, no DSL import).

Prefill (sm_90a, FA3 design). One row per ``(head_dim, head_dim_v)``; shared memory per CTA is
``Q + stages * (K + V)`` tiles of 16-bit elements and must stay under 227 KiB.

=============  ===========  ===========  =======  ==============================================
(hd, hdv)      tile_m x n   consumer WGs  smem KB  note
=============  ===========  ===========  =======  ==============================================
(64, 64)       128 x 128    2             80       FA3 uses 192 x 128 with 3 consumer WGs
(128, 128)     128 x 128    2             160      FA3 uses 128 x 176 when not causal
(256, 256)     128 x 80     2             224      ping-pong off (FA3/FA4: registers)
(192, 128)     128 x 112    2             188
=============  ===========  ===========  =======  ==============================================

Registers per thread after ``setmaxnreg`` (65536 per SM, one CTA per SM):
2 consumer WGs: producer 24, consumers 240 (128 * 24 + 256 * 240 = 64512).
3 consumer WGs: producer 32, consumers 160.
"""

from __future__ import annotations

import dataclasses

WARPGROUP_THREADS = 128
SMEM_LIMIT_BYTES = 227 * 1024

# (num consumer warpgroups) -> (producer registers, consumer registers)
REGISTER_BUDGET = {2: (24, 240), 3: (32, 160)}


@dataclasses.dataclass(frozen=True)
class PrefillConfig:
    tile_m: int
    tile_n: int
    consumer_wgs: int
    stages: int = 2
    # ping-pong the consumer warpgroups with named barriers (softmax of one under the GEMMs of the other)
    pingpong: bool = True

    @property
    def producer_regs(self) -> int:
        return REGISTER_BUDGET[self.consumer_wgs][0]

    @property
    def consumer_regs(self) -> int:
        return REGISTER_BUDGET[self.consumer_wgs][1]

    @property
    def threads(self) -> int:
        return WARPGROUP_THREADS * (self.consumer_wgs + 1)


_PREFILL_TABLE = {
    (64, 64): PrefillConfig(tile_m=128, tile_n=128, consumer_wgs=2),
    (128, 128): PrefillConfig(tile_m=128, tile_n=128, consumer_wgs=2),
    (256, 256): PrefillConfig(tile_m=128, tile_n=80, consumer_wgs=2, pingpong=False),
    (192, 128): PrefillConfig(tile_m=128, tile_n=112, consumer_wgs=2),
}


def prefill_config(head_dim: int, head_dim_v: int, causal: bool) -> PrefillConfig:
    """Tile configuration of the prefill kernel for one variant (``causal`` reserved for per-mask tiles)."""
    try:
        cfg = _PREFILL_TABLE[(head_dim, head_dim_v)]
    except KeyError:
        raise ValueError(f"no prefill tile for (head_dim, head_dim_v) = ({head_dim}, {head_dim_v})") from None
    assert cfg.tile_m == 64 * cfg.consumer_wgs, "each consumer warpgroup owns 64 query rows"
    smem = 2 * (cfg.tile_m * head_dim + cfg.stages * cfg.tile_n * (head_dim + head_dim_v))
    assert smem + 1024 <= SMEM_LIMIT_BYTES, f"prefill tile needs {smem} bytes of shared memory"
    return cfg


def prefill_tile(head_dim: int, head_dim_v: int, causal: bool) -> tuple[int, int]:
    """``(tile_m, tile_n)`` of the prefill kernel: the host schedule tiles queries by ``tile_m``."""
    cfg = prefill_config(head_dim, head_dim_v, causal)
    return cfg.tile_m, cfg.tile_n
