"""The decode plan's page-id sort network (``kernels/sort_pages.py``) on the host: the schedule the kernel walks at
trace time (register phases for compare-exchange distances inside a thread's block, shared-memory passes beyond it)
is a full bitonic network, and run on the host (``sort_model``) it sorts."""

import numpy as np
import pytest

pytest.importorskip("cutlass")  # the kernel module imports the DSL (absent on the GPU host: the CPU suite runs this)

from cute_attn.kernels.sort_pages import (BLOCK, LOG_BLOCK, LOG_CHUNK, THREADS, block_rot,  # noqa: E402
                                          network_passes, sort_model)


@pytest.mark.parametrize("log_size", range(LOG_BLOCK, LOG_CHUNK + 1))
def test_schedule_is_the_bitonic_network(log_size):
    """Every stage k = 2 .. size has its passes j = k / 2 .. 1 once and in order; shared-memory round trips only for
    j >= BLOCK (one distance or two adjacent ones), register phases only for j < BLOCK (the first phase: all stages
    up to BLOCK)."""
    flat = []
    for entry in network_passes(log_size):
        if entry[0] == "smem":
            js = entry[2]
            assert min(js) >= BLOCK and len(js) in (1, 2) and (len(js) == 1 or js[0] == 2 * js[1])
            flat.extend((entry[1], j) for j in js)
        else:
            assert all(j < BLOCK for _, j in entry[2])
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


def test_rotated_pieces_spread_over_the_bank_groups():
    """The eight threads of a 16-byte shared-memory phase (consecutive blocks) move piece p of their blocks from eight
    different 16-byte bank groups of a 128-byte row, for every p."""
    for first in range(0, 64, 8):
        for p in range(4):
            groups = {(4 * blk + (p ^ block_rot(blk))) % 8 for blk in range(first, first + 8)}
            assert len(groups) == 8
