"""Static configuration of the kernels: tile tables and register budgets (pure Python, no DSL import).

Prefill (sm_90a, FA3 design). One row per ``(head_dim, head_dim_v)``; shared memory per CTA is
``Q + stages * (K + V)`` tiles of 16-bit elements (+ sO where it has its own buffer) and must stay under
227 KiB (:func:`prefill_smem_bytes`).

=============  ===========  ===========  =======  ==============================================
(hd, hdv)      tile_m x n   consumer WGs  smem KB  note
=============  ===========  ===========  =======  ==============================================
(64, 64)       128 x 128    2             80       causal; non-causal 192 x 128, 3 WGs (as FA3)
(128, 128)     128 x 128    2             160      FA3 uses 128 x 176 when not causal
(256, 256)     128 x 80     2             224      ping-pong off (FA3/FA4: registers); dense causal 128 x 64
(192, 128)     128 x 112    2             188      non-causal: O by predicated stores (tma_store_o)
=============  ===========  ===========  =======  ==============================================

Registers per thread after ``setmaxnreg`` (65536 per SM, one CTA per SM):
2 consumer WGs: producer 24, consumers 240 (128 * 24 + 256 * 240 = 64512).
3 consumer WGs: producer 32, consumers 160.
"""

from __future__ import annotations

import dataclasses
import os

WARPGROUP_THREADS = 128
SMEM_LIMIT_BYTES = 227 * 1024

# (num consumer warpgroups) -> (producer registers, consumer registers)
REGISTER_BUDGET = {2: (24, 240), 3: (32, 160)}


@dataclasses.dataclass(frozen=True)
class PrefillConfig:
    tile_m: int
    tile_n: int
    consumer_wgs: int
    # K/V pipeline stages (one key block's K and V tile per stage). (3 K + 2 V stages in the paged kernel, switch
    # CUTE_ATTN_PAGED_K3, measured 1-2 % slower at page 1 and were removed in session 6: NOTES-prefill-paged 16)
    stages: int = 2
    # ping-pong the consumer warpgroups with named barriers (softmax of one under the GEMMs of the other)
    pingpong: bool = True
    # own sO buffer (else sO aliases sQ) when shared memory allows: Q is released after the tile's last S GEMM,
    # so the next tile's Q loads under the last PV and the epilogue (v3)
    separate_o: bool = True
    # rescale O by the previous block's row factor right before the PV issue (FA3 order) instead of after the
    # PV wait (v3)
    rescale_before_pv: bool = True
    # skip the O rescale of a warp whose rows' maxima all stayed put (vote.all): on for hd128 (runs 5-6: +2-4 %);
    # hd256 and hd64 3 WGs measured 3-5 % lower with it in run 6 (re-tested in run 7), when only an unchanged max
    # skipped; hd256 takes it with rescale_threshold (session 9)
    skip_rescale: bool = False
    # the running row max moves only when a key block raises it by more than 2^rescale_threshold (log2 units of the
    # scaled scores; 0: whenever it grows), so the row factor is exactly 1 on most blocks after the first few and the
    # skip above fires on them (exact: P <= 2^threshold against the kept max). Session 9 call 1 (H100, bf16, two
    # processes, interleaved rounds x the same kernels at 0): hd128 4 x 4k causal 1.030 / 1.027, 16 x 1k 1.021 / 1.023,
    # 16k full 1.053 / 1.032 (sustained, power probe: 637 vs 626 TFLOP/s at 700 W); hd256 with skip_rescale on:
    # 16 x 1k causal 1.022 / 1.016, 16k 0.99-1.004; hd64: 0.96-0.97 alone, 0.97-1.00 with skip_rescale: stays 0
    rescale_threshold: int = 0
    # with rescale_threshold: skip the row max's quad shuffles on a key block where no thread of the warp saw its own
    # maxima leave the threshold (vote.all; OnlineSoftmax.vote_max; same results bit for bit). Session 15: the ncu
    # source counters of session 11 (call 6) put the FMNMX after each quad SHFL at 22 k (dense) / 33 k (page 1) of the
    # consumers' short-scoreboard stall cycles
    vote_max: bool = False
    # the row max over the thread's scores as this many independent chains + a tree (1: one serial FMNMX chain per
    # row, 32 deep at tile_n 128; session 3's reduce_chains=4 measured within noise, before vote_max existed)
    max_chains: int = 1
    # epilogue per consumer warpgroup (own 64 rows of sO, 128-thread barriers) instead of the whole tile
    # (where sO aliases sQ the barrier before the sO store stays one of all consumer warpgroups)
    wg_epilogue: bool = True
    # double-buffered P (session 3, prefill-v4; on in the table for hd128 and hd192) on the unmasked key blocks
    # (pairs of steps alternate two P fragments), so P(j) is converted without waiting for PV(j-1); that wait moves
    # to the next step, after its S issue (before the O rescale). prefill-v4's other switches (reduction chains,
    # work-row prefetch off, early V release with double_p, L2 prefetch of K/V) were refuted and are taken out; the
    # code is at commit 86f00b7
    double_p: bool = False
    # epilogue: O leaves sO by a TMA bulk tensor store (thread 0 of each epilogue part issues it) where the part's
    # rows all lie inside the request; a part that ends past the request's last row keeps the predicated 16-byte stores
    tma_store_o: bool = True
    # session 4 (prefill-v6) A/B switch, causal only: per consumer warpgroup, the first visited key block (the
    # one that holds the diagonal) is computed only over the columns the warpgroup's rows can see: with c the
    # count of such columns, c <= 0 skips the block's S GEMM and softmax (P = 0), c <= trim_n (tile_n / 2 rounded
    # down to 16) runs the S GEMM at N = trim_n and the softmax over those columns only (the rest of P = 0). (The PV
    # of that block over the first trim_n keys too, through a branch in the next step, measured 3-7 % slower:
    # NOTES-prefill 17, code in 9d1ffab.)
    trim_diagonal: int = 0
    # Q in registers for S = Q K^T (wgmma RS: each consumer thread copies its A fragment of Q from sQ by ldmatrix
    # once per tile, and its warp releases Q right after; the S GEMMs then read only K from shared memory). Session 7
    # (H100, interleaved rounds x the same tile without it): hd64 causal 16 x 1k 1.032 / 1.033 / 1.033 / 1.030 / 1.035
    # (0.98x -> 1.01x cuDNN), 4 x 4k 1.014 / 1.013, 16k 1.000 / 1.006; hd128 (which must drop double_p for it: both
    # spill) x the same kernel with Q in shared memory: 16k causal 0.983 / 1.012, full 0.973 / 0.979, 4 x 4k causal
    # 1.005 / 1.006: off. hd64 non-causal's 3-warpgroup 192 x 128 tile spills with it (NOTES-prefill 20).
    q_rs: bool = False
    split_kv: bool = False

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
    # trim_diagonal (prefill-v6, H100, bf16 causal, interleaved rounds x the same tile without it, 2 processes):
    # hd64 128 x 128 16 x 1k 1.047 / 1.046 (0.95 -> 0.98-0.99x cuDNN), 4 x 4k 1.028 / 1.034; hd128 16 x 1k
    # 1.021 / 1.026, 4 x 4k 0.996 / 0.994, 16k 1.002 / 0.993; hd192 16 x 1k 1.054 / 1.054, 4 x 4k 1.004 / 1.020,
    # 16k 0.987 / 0.991 (16k rounds spread +-5 %). hd256: 1k 1.011 / 1.005, 16k 0.984 / 0.986: off
    (64, 64): PrefillConfig(tile_m=128, tile_n=128, consumer_wgs=2, trim_diagonal=1, q_rs=True),
    # double-buffered P (session 3, H100). Non-causal 16k: 685-689 TFLOP/s in 6 processes vs 638-670 for one P
    # buffer timed just before it (prefill-v4). Interleaved rounds (bench.common.compare, 5 rounds, one process),
    # dp x one buffer: hd128 causal 16k 1.007, 4 x 4k 1.039, 16 x 1k 1.003; hd192 full 16k 1.040, causal 1.017,
    # 16 x 1k 0.996 (two identical objects differed by up to 3 % in the same run). hd256 spills with it, hd64
    # does not fit (C7512).
    (128, 128): PrefillConfig(tile_m=128, tile_n=128, consumer_wgs=2, skip_rescale=True, double_p=True,
                              trim_diagonal=1, rescale_threshold=8),
    (256, 256): PrefillConfig(tile_m=128, tile_n=80, consumer_wgs=2, pingpong=False, skip_rescale=True,
                              rescale_threshold=8),
    (192, 128): PrefillConfig(tile_m=128, tile_n=112, consumer_wgs=2, double_p=True, trim_diagonal=1),
}


# Development A/B switch: field overrides applied on top of the table (``set_prefill_overrides``; builds use the
# environment variable below). Empty in production.
_OVERRIDES: dict = {}
# The same as an environment variable, so that it reaches the build's worker processes
# (``CUTE_ATTN_PREFILL_SET=skip_rescale=1 python -m cute_attn.build --force --out DIR --only 'prefill_*'``). Unset in
# production. The overrides that apply to a variant are recorded in its manifest entry (``PrefillSpec.build_env``,
# part of the compile key), so a process that plans without them (or with others) refuses the artifact ("other-build")
# instead of planning tiles the kernel does not have; a switched build still goes into a directory of its own, where
# the A/B tools (``bench.common.ArtifactBuild``, which does not check the manifest) load it.
BUILD_OVERRIDES_ENV = "CUTE_ATTN_PREFILL_SET"


def env_overrides(head_dim: int) -> dict:
    """The overrides of ``CUTE_ATTN_PREFILL_SET`` for one head dim: ``"f=v,..."`` applies to every head dim,
    ``"hd128:f=v,...;hd256:f=v"`` to the head dims named."""
    text = os.environ.get(BUILD_OVERRIDES_ENV, "")
    out = {}
    for part in filter(None, text.split(";")):
        scope, sep, fields = part.partition(":")
        if not sep:
            out.update(parse_overrides(part))
        elif scope == f"hd{head_dim}":
            out.update(parse_overrides(fields))
        elif not (scope.startswith("hd") and scope[2:].isdigit()):
            raise ValueError(f"{BUILD_OVERRIDES_ENV}: bad scope {scope!r} (expected hd<head_dim>)")
    return out


def refuse_removed_switches(names, where: str) -> None:
    """Raise if one of the build-time switches ``names`` (measured and removed: the notes in ``where`` say why) is
    set, so that a build does not make the default kernel under an A/B label."""
    for name in names:
        if name in os.environ:
            raise ValueError(f"{name} was removed ({where})")


PAGED_KV_INTERLEAVE_ENV = "CUTE_ATTN_PAGED_KV_INTERLEAVE"


def paged_kv_interleave() -> bool:
    """``CUTE_ATTN_PAGED_KV_INTERLEAVE`` (build time, on by default since session 9 call 4: page 16 +2.0 %, page 64
    +1.8 % at 4 x 4k; ``0`` builds the paged kernel's old K/V stage layout for A/Bs, and the host then skips the
    page-stride check that the interleaved boxes need; ``layouts/paged.py``, bench/NOTES-prefill-paged.md 20). A
    ``0`` build records it in its manifest entries (``PrefillPagedSpec.build_env``), so a process with the other
    value refuses those artifacts."""
    value = os.environ.get(PAGED_KV_INTERLEAVE_ENV, "1")
    if value not in ("0", "1"):
        raise ValueError(f"{PAGED_KV_INTERLEAVE_ENV} must be 0 or 1, got {value!r}")
    return value == "1"


def set_prefill_overrides(overrides: dict) -> None:
    """Replace the development overrides (``{field: value}``; applied to every head dim)."""
    _OVERRIDES.clear()
    _OVERRIDES.update(overrides)


def parse_overrides(text: str) -> dict:
    """``"tile_n=176,pingpong=0"`` -> ``{"tile_n": 176, "pingpong": False}`` (types from the dataclass)."""
    out = {}
    fields = {f.name: f.type for f in dataclasses.fields(PrefillConfig)}
    for item in filter(None, text.split(",")):
        key, _, val = item.partition("=")
        if key not in fields:
            raise ValueError(f"unknown prefill config field {key!r}")
        out[key] = (val not in ("0", "false", "False")) if fields[key] in (bool, "bool") else int(val)
    return out


# per-mask exceptions to the table: (head_dim, head_dim_v, causal) -> config
_PREFILL_MASK_TABLE = {
    # run 3 (H100): 3 WGs 192 x 128 is +16 % non-causal (519 vs 448) but -2 % causal (409 vs 416: more of a
    # 192-row tile is masked on the diagonal, coarser causal work)
    (64, 64, False): PrefillConfig(tile_m=192, tile_n=128, consumer_wgs=3),
    # run 5 (H100): 3 WGs 192 x 112 causal 16k 487 vs 437 (128 x 128) and 451 (128 x 176); 16 x 1k 235 vs 256
    # trim_diagonal: 4 x 4k 1.045 / 1.016, 16k 1.009 / 0.981, 16 x 1k 1.096 / 1.097 (prefill-v6)
    (64, 64, True): PrefillConfig(tile_m=192, tile_n=112, consumer_wgs=3, trim_diagonal=1, q_rs=True),
    # O by the predicated stores (prefill-o, H100, TMA store x predicated, medians of 5 interleaved rounds in 3
    # processes): 16 x 1k 0.985 / 1.003 / 0.983, 4 x 4k 0.999 / 0.990 / 0.985, 16k 0.988 / 0.989 / 0.963 (8 of 9 below
    # 1; causal hd192 0.99-1.01: stays on). Not the epilogue's cost (1 of ~146 blocks at 16k): ptxas schedules the
    # main loop differently in the two builds.
    (192, 128, False): PrefillConfig(tile_m=128, tile_n=112, consumer_wgs=2, double_p=True, tma_store_o=False),
}


# Rows measured on the dense kernel first (the tables above are the paged kernel's otherwise): the paged kernel takes
# those in PAGED_DENSE_ROWS, since session 18 all of them (hd64 causal session 17; hd256 causal and hd128 session 18):
# (head_dim, head_dim_v, causal) -> config
_PREFILL_DENSE_MASK_TABLE = {
    # hd64 causal with the kept running max (session 10 calls 5-6, H100, bf16, interleaved rounds x the row of
    # _PREFILL_MASK_TABLE, five processes): 1 x 16k 1.002 / 1.025 / 1.020 / 1.023 / 1.024, 4 x 4k 1.019 / 1.024 / 1.010 /
    # 1.013 / 1.019 (session 9 had measured 0.97-1.00 on an older hd64 build). The paged kernel takes this row too since
    # session 17 (PAGED_DENSE_ROWS; session 15 had measured vote_max + 8 max chains for it: 1 x 16k 1.021 / 1.006 / 1.032
    # in rounds timing (call 2) but 0.986 / 0.986 per clock in paired timing (call 4): off; NOTES-prefill-paged 26)
    (64, 64, True): PrefillConfig(tile_m=192, tile_n=112, consumer_wgs=3, trim_diagonal=1, q_rs=True, skip_rescale=True,
                                  rescale_threshold=8),
    # hd256 causal 128 x 64 (prefill-v5, H100, bf16, interleaved rounds x 128 x 80 in two processes): 16 x 1k
    # 1.034 / 1.038 (0.154 vs 0.160 ms; 0.974x -> 1.011-1.013x cuDNN), 1 x 16k 0.998 / 1.023. Non-causal 16k
    # 0.970 / 1.007: stays at 128 x 80. 4 x 4k hd256 not measured.
    (256, 256, True): PrefillConfig(tile_m=128, tile_n=64, consumer_wgs=2, pingpong=False, skip_rescale=True,
                                    rescale_threshold=8),
    # hd128 on three consumer warpgroups, 192 x 80, 3 stages (session 9 call 3, H100, bf16, interleaved rounds x the
    # 128 x 128 two-warpgroup tile, two processes): 1 x 16k causal 1.021 / 1.045, full 0.995 / 1.010; sustained alone at
    # 700 W (power probe) causal 625.5 -> 645.4 TFLOP/s (+3.2 %), full 644.8 -> 655.2 (+1.6 %): a 192-row tile reads
    # each K/V block from L2 once per 192 query rows instead of 128. Shorter requests lose (4 x 4k causal 0.970 / 0.950,
    # 16 x 1k 0.81): the 128 x 128 tile stays as the short-request variant (PREFILL_SHORT_TILE). 192 x 128 and 192 x 112
    # spill on the 160-register budget of three consumer warpgroups (no double-buffered P either way); 192 x 64 is
    # 3-9 % slower.
    # vote_max + 8 max chains on both 192-row rows (session 15, x the same tile without them; NOTES-prefill-paged 26):
    # per clock (paired timing, call 4, two processes; identical kernels read 0.998-1.001 there) 1 x 16k full
    # 1.017 / 1.016, causal 1.015 / 1.012; rounds timing (calls 1-2, the clock each sets) full 1.020 / 1.011 (2 chains),
    # 1.057 / 1.037 / 1.027, causal 1.025 / 1.011 (2 chains), 1.001 / 0.998 / 1.000. The 128 x 128 tile loses with them
    # (4 x 4k 0.974 / 0.975 per clock), as do hd64 causal 192 x 112 (0.986) and hd256 (1.000 / 0.998): off there.
    (128, 128, True): PrefillConfig(tile_m=192, tile_n=80, consumer_wgs=3, stages=3, skip_rescale=True,
                                    rescale_threshold=8, trim_diagonal=1, vote_max=True, max_chains=8),
    (128, 128, False): PrefillConfig(tile_m=192, tile_n=80, consumer_wgs=3, stages=3, skip_rescale=True,
                                     rescale_threshold=8, trim_diagonal=1, split_kv=True, vote_max=True,
                                     max_chains=8),
}


# Variants with a second, shorter tile for batches of short requests: (head_dim, head_dim_v, causal) ->
# (tile_m of the short-request variant, throughput factor of the table tile over it on long requests). The
# host (cute_attn.prefill) picks per plan: padded query rows / factor, the smaller wins.
# hd64 causal (runs 19/21, H100): 192 x 112 is +10 % at 16k (483 vs 437) but 128 x 128 is +13 % at 16 x 1k
# (291 vs 257): a 1k request is 5.3 tiles of 192 rows (the last one a third full) and 8 tiles of 128.
PREFILL_SHORT_TILE = {
    (64, 64, True): (128, 1.10),
    # hd128 (session 9 call 3): 192 x 80 is +1.5-3 % at 16k, 128 x 128 +3-5 % at 4 x 4k and +22 % at 16 x 1k; with 1.02
    # the plan picks 192 rows for 1 x 16k (and 1 x 8k), 128 for 4 x 4k, 16 x 1k and session 9's ragged batch
    (128, 128, True): (128, 1.02),
    (128, 128, False): (128, 1.02),
}


# The paged kernel's short-request variants: the PREFILL_SHORT_TILE entries (tile and factor as the dense kernel's) that
# the paged kernel has too, where its table tile is not already the short one. hd64 causal: 192 x 112 paged read
# 0.79-0.84x dense at 16 x 1k and append 512 on 8k, where the dense plan picks 128-row tiles; the paged 128 x 128 variant
# gains 16-30 % there (session 18 call 1, NOTES-prefill-paged 47). hd128: 128 x 128 beside the 192 x 80 row since
# session 18 (call 4: 192 x 80 +0.3-2.2 % on long requests; NOTES 49)
PAGED_SHORT_TILE = frozenset({(64, 64, True), (128, 128, True), (128, 128, False)})


def short_tile(head_dim: int, head_dim_v: int, causal: bool, paged: bool = False):
    """The ``PREFILL_SHORT_TILE`` entry ``(tile_m, factor)`` of the head dims for the dense (or, ``paged``, the paged)
    kernel, or None where that kernel has no short-request variant."""
    key = (head_dim, head_dim_v, causal)
    short = PREFILL_SHORT_TILE.get(key)
    if short is None or (paged and (key not in PAGED_SHORT_TILE
                                     or short[0] == prefill_config(*key, paged=True).tile_m)):
        return None
    return short


def prefill_tile_m_choices(head_dim: int, head_dim_v: int, causal: bool, paged: bool = False) -> tuple[int, ...]:
    """``tile_m`` values with a compiled variant of the dense (``paged``: the paged) kernel: the table's, then the
    short-request one if any."""
    base = prefill_config(head_dim, head_dim_v, causal, paged=paged).tile_m
    short = short_tile(head_dim, head_dim_v, causal, paged)
    return (base,) if short is None else (base, short[0])


# the features the paged kernel turns off (measured on the dense kernel only): ``prefill_config(paged=True,
# paged_keep=...)`` keeps the table's value of those named (the paged kernel's A/B switches)
PAGED_OFF = {"trim_diagonal": 0, "tma_store_o": False, "q_rs": False}
# the rows of _PREFILL_DENSE_MASK_TABLE the paged kernel takes in full, q_rs included (all of them since session 18):
# hd64 causal (session 17 call 11, H100, bf16, paired, x the other row, two processes: page 16 4 x 4k 1.045 / 1.046,
# 16 x 1k 1.055 / 1.054, append 512 on 8k 1.034 / 1.035; page 1 1.025 / 1.037 / 1.020; NOTES-prefill-paged 46);
# hd256 causal (session 18 call 2: the 128 x 64 tile, +5-10 % at page 16 over 128 x 80, and page 64's one-box blocks;
# NOTES 48); hd128 causal and full (session 18 calls 4-5: the 192 x 80 row for long requests, with split_kv; NOTES 49-50)
PAGED_DENSE_ROWS = frozenset(_PREFILL_DENSE_MASK_TABLE)


def prefill_smem_bytes(cfg: PrefillConfig, head_dim: int, head_dim_v: int, separate_o: bool) -> int:
    """Shared memory of one CTA: Q, the K and V stages, sO if ``separate_o``, and the allowance for the barriers and
    the 1024-byte alignment of the buffers (1 KiB, 2 KiB with sO)."""
    smem = 2 * (cfg.tile_m * head_dim + cfg.stages * cfg.tile_n * (head_dim + head_dim_v))
    return smem + (2 * cfg.tile_m * head_dim_v + 2048 if separate_o else 1024)


# The paged kernel's gather variant (page sizes that are no multiple of 16: the consumers wait for cp.async fills)
# takes the vote on the row max (session 15 call 6, H100, bf16, --timing paired, per-clock ratio x the same variant
# without it, two processes: page 1 4 x 4k 1.014 / 1.013, 16 x 1k 1.005 / 1.005, append 512 on 8k 1.009 / 1.007 with
# 4 chains; vote alone 1.010 / 1.010, 1.005 / 1.005, 1.008 / 1.007). The TMA-box variants do not (page 16 with 4 chains
# 0.995 / 1.004 / 1.000, with the vote alone 0.992 / 0.997 / 0.992), nor does the dense 128 x 128 tile (0.975).
# (head_dim, head_dim_v, causal) -> config fields; measured at hd128 causal only
PAGED_GATHER_SOFTMAX = {(128, 128, True): {"vote_max": True, "max_chains": 4}}
# ... and on the short-request tiles (no threshold there: the 4 max chains alone): hd64 causal 128 x 128 (session 18 call
# 10, H100, bf16, paired, x the variant without, two processes: page 1 16 x 1k 1.016 / 1.015, append 512 on 8k 1.044 /
# 1.045; the vote + 4 chains on its 192 x 112 tile read 0.994 / 0.994 at 4 x 4k, and on hd256 causal 0.970-0.994:
# not applied there; NOTES-prefill-paged 52)
PAGED_GATHER_SOFTMAX_SHORT = {(64, 64, True): {"max_chains": 4}}


def prefill_config(head_dim: int, head_dim_v: int, causal: bool, tile_m: int = 0, paged: bool = False,
                   paged_keep: tuple = (), gather: bool = False) -> PrefillConfig:
    """Tile configuration of the prefill kernel for one variant. ``tile_m = 0``: the table's tile;
    otherwise the row count of one of ``prefill_tile_m_choices`` (the short-request tile is the head dim's
    mask-independent table row). ``paged``: the paged kernel's config (without the dense-only exceptions, and
    ``PAGED_OFF``'s features off but for those named in ``paged_keep``); ``gather``: the paged kernel's gather variant
    (``PAGED_GATHER_SOFTMAX`` applied)."""
    key = (head_dim, head_dim_v, causal)
    try:
        dense_row = not paged or key in PAGED_DENSE_ROWS
        cfg = ((_PREFILL_DENSE_MASK_TABLE.get(key) if dense_row else None) or _PREFILL_MASK_TABLE.get(key)
               or _PREFILL_TABLE[(head_dim, head_dim_v)])
    except KeyError:
        raise ValueError(f"no prefill tile for (head_dim, head_dim_v) = ({head_dim}, {head_dim_v})") from None
    short_tile_cfg = False
    if tile_m and tile_m != cfg.tile_m:
        short = PREFILL_SHORT_TILE.get((head_dim, head_dim_v, causal))
        if short is None or short[0] != tile_m:
            raise ValueError(f"no prefill tile_m={tile_m} variant for ({head_dim}, {head_dim_v}, causal={causal})")
        cfg = _PREFILL_TABLE[(head_dim, head_dim_v)]
        assert cfg.tile_m == tile_m
        short_tile_cfg = True
    if paged:
        # the paged kernel shares the consumers and the epilogue, but trim_diagonal and the TMA store of O were measured
        # on the dense kernel only (the paged GPU tests passed with the trim on: prefill-v6 call 1)
        keep = set(paged_keep) | ({"q_rs"} if key in PAGED_DENSE_ROWS else set())
        cfg = dataclasses.replace(cfg, **{k: v for k, v in PAGED_OFF.items() if k not in keep})
        if gather:
            cfg = dataclasses.replace(cfg, **PAGED_GATHER_SOFTMAX.get(key, {}))
            if short_tile_cfg:
                cfg = dataclasses.replace(cfg, **PAGED_GATHER_SOFTMAX_SHORT.get(key, {}))
    overrides = {**env_overrides(head_dim), **_OVERRIDES}
    if overrides:
        cfg = dataclasses.replace(cfg, **overrides)
        if "consumer_wgs" in overrides and "tile_m" not in overrides:
            cfg = dataclasses.replace(cfg, tile_m=64 * cfg.consumer_wgs)
    assert cfg.tile_m == 64 * cfg.consumer_wgs, "each consumer warpgroup owns 64 query rows"
    if cfg.max_chains not in (1, 2, 4, 8):
        raise ValueError(f"max_chains must be 1, 2, 4 or 8, got {cfg.max_chains}")
    if cfg.vote_max and not cfg.rescale_threshold:
        cfg = dataclasses.replace(cfg, vote_max=False)  # the vote tests the threshold: nothing to vote on without it
    smem = prefill_smem_bytes(cfg, head_dim, head_dim_v, False)
    assert smem <= SMEM_LIMIT_BYTES, f"prefill tile needs {smem} bytes of shared memory"
    if cfg.separate_o and prefill_smem_bytes(cfg, head_dim, head_dim_v, True) > SMEM_LIMIT_BYTES:
        cfg = dataclasses.replace(cfg, separate_o=False)  # hd256: sO aliases sQ
    return cfg


# 2-CTA clusters for the dense non-causal hd256 variants (session 10, NOTES-prefill 27; on by default since call 3:
# hd256 full 1 x 16k +2.0 / +2.0 %, 4 x 4k +3.6 / +2.2 % in rounds timing, 691.6 -> 706.6 TFLOP/s sustained at 700 W;
# outputs bit-identical; the hd128 form of sessions 7-8 was measured not a gain and removed, NOTES-prefill 21-22): the
# two CTAs of a cluster take query tiles m, m + 1 (m even) of one (request, head) and load each K/V block once for both
# (TMA multicast, each CTA half of the box's rows); the host (cute_attn.prefill) writes one work row per such pair.
# ``CUTE_ATTN_PREFILL_CLUSTER=1`` turns it off (A/B builds): read when called, at build time by the kernel and at plan
# time by the host, so a process must plan with the value its kernels were built with. The manifest records the value
# (``PrefillSpec.build_env``; it is part of the compile key), and a process that plans with the other value refuses to
# load the artifact (``cute_attn.artifacts.Manifest.status``: "other-build") instead of running mismatched work rows.
CLUSTER_ENV = "CUTE_ATTN_PREFILL_CLUSTER"
CLUSTER_HEAD_DIMS = ((256, 256),)


def prefill_cluster(head_dim: int, head_dim_v: int, causal: bool, paged: bool = False) -> int:
    """CTAs per cluster of the prefill variant: 2 for the dense non-causal ``CLUSTER_HEAD_DIMS`` variants unless
    ``CUTE_ATTN_PREFILL_CLUSTER=1``, else 1. Unset, empty or ``2``: on; ``1``: off; other values raise."""
    value = os.environ.get(CLUSTER_ENV, "2") or "2"
    if value not in ("1", "2"):
        raise ValueError(f"{CLUSTER_ENV} must be 1 or 2, got {value!r}")
    if value == "2" and not paged and not causal and (head_dim, head_dim_v) in CLUSTER_HEAD_DIMS:
        return 2
    return 1


def prefill_tile(head_dim: int, head_dim_v: int, causal: bool, tile_m: int = 0, paged: bool = False
                 ) -> tuple[int, int]:
    """``(tile_m, tile_n)`` of the prefill kernel: the host schedule tiles queries by ``tile_m``."""
    cfg = prefill_config(head_dim, head_dim_v, causal, tile_m, paged)
    return cfg.tile_m, cfg.tile_n
