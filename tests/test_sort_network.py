"""The decode plan's page-id sort network (``kernels/sort_pages.py``) on the host: the schedule the kernel walks at
trace time (register phases for compare-exchange distances inside a thread's block, shared-memory passes beyond it)
is a full bitonic network, and run on the host (``sort_model``) it sorts."""

import numpy as np
import pytest

pytest.importorskip("cutlass")  # the kernel module imports the DSL (absent on the GPU host: the CPU suite runs this)

from cute_attn.kernels.sort_pages import (BLOCK, LOG_BLOCK, LOG_CHUNK, QUAD, THREADS, WARP_KEYS,  # noqa: E402
                                          group_first, network_passes, sort_model, swizzle)


@pytest.mark.parametrize("log_size", range(LOG_BLOCK, LOG_CHUNK + 1))
def test_schedule_is_the_bitonic_network(log_size):
    """Every stage k = 2 .. size has its passes j = k / 2 .. 1 once and in order; shared-memory round trips only for
    j >= WARP_KEYS (one distance or two adjacent ones), register phases (registers and shuffles) only below it (the
    first phase: all stages up to WARP_KEYS)."""
    flat = []
    for entry in network_passes(log_size):
        if entry[0] == "smem":
            js = entry[2]
            assert min(js) >= WARP_KEYS and len(js) in (1, 2) and (len(js) == 1 or js[0] == 2 * js[1])
            flat.extend((entry[1], j) for j in js)
        else:
            assert all(j < WARP_KEYS for _, j in entry[2])
            flat.extend(entry[2])
    want = [(1 << s, 1 << jj) for s in range(1, log_size + 1) for jj in range(s - 1, -1, -1)]
    assert flat == want


@pytest.mark.parametrize("log_size", range(LOG_BLOCK, LOG_CHUNK + 1))
def test_model_sorts(log_size):
    rng = np.random.default_rng(log_size)
    n = 1 << log_size
    for keys in (rng.integers(0, 2**31 - 1, n), rng.integers(0, 7, n), np.arange(n)[::-1],
                 np.concatenate([rng.integers(0, 1000, n // 2), np.full(n - n // 2, 2**31 - 1)])):
        assert (sort_model(keys) == np.sort(keys)).all()


def test_a_full_chunk_is_one_block_per_thread():
    assert BLOCK * THREADS == 1 << LOG_CHUNK


def test_swizzle_spreads_16_byte_phases_over_the_bank_groups():
    """The swizzle is a permutation of 16-byte pieces (keys stay in their piece), and the eight threads of a 16-byte
    shared-memory phase reach eight different bank groups of a 128-byte row: loading piece p of eight consecutive
    blocks (register phases), and taking eight consecutive groups of a round trip with distances >= WARP_KEYS."""
    n = 1 << LOG_CHUNK
    phys = np.array([swizzle(i) for i in range(n)])
    assert sorted(phys) == list(range(n)) and all(phys[i] % QUAD == i % QUAD for i in range(0, n, 7))
    bank = lambda i: (swizzle(i) // QUAD) % 8  # noqa: E731
    for first in range(0, 256, 8):
        for p in range(BLOCK // QUAD):
            assert len({bank(blk * BLOCK + QUAD * p) for blk in range(first, first + 8)}) == 8
    for j in (WARP_KEYS, 2 * WARP_KEYS):
        for nbits in (1, 2):
            for g0 in range(0, 64, 8):
                for a in range(1 << nbits):
                    assert len({bank(group_first(g * QUAD, j, nbits) + j * a) for g in range(g0, g0 + 8)}) == 8
