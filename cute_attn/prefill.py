"""Prefill attention (dense, ragged batches) on Hopper.

Tensors are NHD: q ``(total_q, num_qo_heads, head_dim)``, k ``(total_kv, num_kv_heads, head_dim)``,
v ``(total_kv, num_kv_heads, head_dim_v)``; bf16 or fp16; any strides with a contiguous last dim (16-byte
aligned). ``(head_dim, head_dim_v)`` in ``(64, 64), (128, 128), (256, 256), (192, 128)``. GQA/MQA: query
head ``h`` reads kv head ``h // (num_qo_heads // num_kv_heads)``. Causal masks are aligned bottom-right
(query ``i`` sees keys ``j <= i + kv_len - q_len``). The LSE returned is the natural-log log-sum-exp
of the scaled scores, shape ``(total_q, num_qo_heads)``, float32; a query that sees no key gets output
0 and LSE ``-inf``. Zero-length requests produce no rows and no error.

Non-causal batches of long requests of one kv length (hd128's 192-row tile) may split the tiles of the persistent
schedule's last, partial round over their keys (:func:`split_tail`): the pieces run on CTAs that would idle, and the
kernel merges their partial outputs by their LSEs (rounding may differ from the unsplit result in the last bits).
``CUTE_ATTN_PREFILL_SPLIT=0`` at ``plan()`` time turns it off.
"""

from __future__ import annotations

import ctypes
import dataclasses
import heapq
import os
import struct
import threading
import warnings
from array import array
from collections import OrderedDict

import numpy as np
import torch

from . import _checks as C
from .artifacts import get_kernel
from .decode import _kernel_view
from .specs import PREFILL_HEAD_DIMS, PrefillSpec


def tile_m_for(head_dim: int, head_dim_v: int, causal: bool, tile_m: int = 0, paged: bool = False) -> int:
    """Query rows per CTA tile of the prefill kernel (from the kernel's tile table; ``tile_m`` names a
    short-request variant, 0 the table's tile; ``paged``: the paged kernel's tile, which has no dense-only rows)."""
    from .kernels.common.config import prefill_tile

    return prefill_tile(head_dim, head_dim_v, causal, tile_m, paged)[0]


def choose_tile_m(q_lens: list[int], head_dim: int, head_dim_v: int, causal: bool) -> int:
    """The variant's ``tile_m`` for a batch: 0 (the table's tile) unless the head dims have a short-request
    tile (``PREFILL_SHORT_TILE``) and the batch's query rows padded to the table's tile, divided by that
    tile's measured throughput factor, exceed the rows padded to the short tile (e.g. hd64 causal: 16 x 1k
    -> 128-row tiles, 1 x 16k or 4 x 4k -> 192-row tiles)."""
    from .kernels.common.config import PREFILL_SHORT_TILE, prefill_tile

    short = PREFILL_SHORT_TILE.get((head_dim, head_dim_v, causal))
    if short is None:
        return 0
    short_m, factor = short
    base_m = prefill_tile(head_dim, head_dim_v, causal)[0]

    def padded(t: int) -> int:
        return sum((n + t - 1) // t * t for n in q_lens)

    return short_m if padded(base_m) > factor * padded(short_m) else 0


_CHOOSE_TILE_M = choose_tile_m  # plan() applies this rule in the compiled planner unless choose_tile_m is replaced


# Short requests are scheduled in sections of (request, kv head) pairs whose K/V together stay small, so the
# CTAs running at once share K/V while it is hot in L2 (50 MB on H100). Measured on the H100 (NOTES-prefill
# sections 11 and 13): 6 MB sections or one pair per section beat 24 MB sections by 10-15% at 1k and 4k;
# 2 MB and one pair per section beat 4 MB by 1-7% at 16 x 1k causal (hd128 0.95x -> 1.01x cuDNN), 8 MB
# loses 20-25%.
L2_SECTION_BYTES = 2 << 20
# A pair whose K/V reaches this size is scheduled by cost alone: its tiles are heavy, and grouping them would
# leave heavy tiles for the last rounds of the static schedule (-20-35% at 16k causal when grouped).
SMALL_UNIT_BYTES = 4 << 20


def _tile_cost(q_len: int, kv_len: int, m: int, tile_m: int, causal: bool) -> int:
    """Keys a tile attends to (causal: up to its last query row, bottom-right aligned), plus one: a tile
    with no key still writes its rows."""
    if causal:
        return max(0, min(kv_len, min((m + 1) * tile_m, q_len) + kv_len - q_len)) + 1
    return kv_len + 1


def make_work_list(q_lens: list[int], kv_lens: list[int], num_qo_heads: int, tile_m: int, causal: bool,
                   num_kv_heads: int | None = None, kv_row_bytes: int = 0,
                   section_bytes: int = L2_SECTION_BYTES, small_unit_bytes: int = SMALL_UNIT_BYTES,
                   return_costs: bool = False, cluster: int = 1):
    """Host-side tile order: int32 rows ``(batch, m_block, q_head, 0)`` in the order the CTAs should take them
    (:func:`schedule_work` assigns them to CTAs).

    Tiles of (request, kv head) pairs whose K/V (``kv_len * kv_row_bytes``) reaches ``small_unit_bytes``
    come first, heaviest first. The remaining pairs are grouped, longest requests first, into sections
    whose K/V fit in ``section_bytes`` (at least one pair), each section heaviest first, so the CTAs
    running at once share K/V in L2.
    ``kv_row_bytes = 0`` gives a plain heaviest-first order. Requests with no queries give no tiles.
    ``return_costs``: ``(rows, costs)``, each row's cost in keys (:func:`_tile_cost`).
    ``cluster = 2`` (a 2-CTA cluster build, ``kernels.common.config.prefill_cluster``, NOTES-prefill 27): one row per
    pair of query tiles ``m, m + 1`` (m even) of one (request, head), its cost the costlier tile's; an odd tile count
    ends with a pair whose upper tile lies past the request (its CTA stores nothing).
    """
    hk = num_kv_heads or num_qo_heads
    group = num_qo_heads // hk
    heads = np.arange(num_qo_heads, dtype=np.int64).reshape(hk, group)
    parts, section, current_bytes = [], 0, 0  # section 0: the big pairs; 1, 2, ...: the grouped ones
    requests = sorted(range(len(q_lens)), key=lambda b: -(q_lens[b] * (kv_lens[b] + 1)))
    for b in requests:
        ql, kl = q_lens[b], kv_lens[b]
        if ql == 0:
            continue
        n_tiles = (ql + tile_m - 1) // tile_m
        m = np.arange(0, n_tiles, cluster, dtype=np.int64)
        if causal:  # _tile_cost, vectorized (cluster: the pair's last tile inside the request, the costlier)
            last = np.minimum(m + cluster - 1, n_tiles - 1)
            cost = np.clip(np.minimum((last + 1) * tile_m, ql) + kl - ql, 0, kl) + 1
        else:
            cost = np.full(len(m), kl + 1, dtype=np.int64)
        unit_bytes = kl * kv_row_bytes
        sids = []
        for _ in range(hk):  # the request's (request, kv head) pairs, in kv head order
            if not kv_row_bytes or unit_bytes >= small_unit_bytes:
                sids.append(0)
                continue
            if section == 0 or current_bytes + unit_bytes > section_bytes:
                section, current_bytes = section + 1, 0
            sids.append(section)
            current_bytes += unit_bytes
        # a pair's rows: each tile m for each query head of the kv head (m outer)
        n = len(m) * group
        parts.append((np.repeat(np.asarray(sids, dtype=np.int64), n), np.full(hk * n, b, dtype=np.int64),
                      np.tile(np.repeat(m, group), hk),
                      np.broadcast_to(heads[:, None, :], (hk, len(m), group)).reshape(-1),
                      np.tile(np.repeat(cost, group), hk)))
    if not parts:
        rows = torch.zeros((0, 4), dtype=torch.int32)
        return (rows, []) if return_costs else rows
    sid, batch, m_block, q_head, cost = (np.concatenate(col) for col in zip(*parts))
    order = np.lexsort((-cost, sid))  # by section, heaviest first; stable: ties keep (request, head) grouping
    table = np.zeros((len(order), 4), dtype=np.int32)
    table[:, 0], table[:, 1], table[:, 2] = batch[order], m_block[order], q_head[order]
    rows = torch.from_numpy(table)
    if return_costs:
        return rows, cost[order].tolist()
    return rows


# A tile's fixed cost (prologue, epilogue, the pipelines' fill) in keys, for the schedule's cost model.
TILE_OVERHEAD_KEYS = 128
# List schedules tried by schedule_work: the last LIST_TAIL_ROUNDS[i] * slots rows re-sorted heaviest first. Longer
# tails balance better but break more of the sections' L2 sharing (a round's rows run together).
LIST_TAIL_ROUNDS = (0, 1, 2)


def split_work(work: torch.Tensor, num_slots: int) -> tuple[list[int], torch.Tensor]:
    """``(table, rows)`` of a :func:`schedule_work` tensor: slot ``s`` runs ``work[table[s]:table[s + 1]]``, and
    ``rows`` are the work rows (after the table)."""
    if num_slots == 0:
        return [], work
    table = work[: int(work[0, 0])].flatten()[: num_slots + 1].tolist()  # table[0]: the table's own rows
    return table, work[table[0]:]


def _serpentine(costs: np.ndarray, num_slots: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Rows dealt in rounds of ``num_slots``, serpentine (round ``r``: row ``r * n + c`` to slot ``c`` when ``r``
    is even, to slot ``n - 1 - c`` when odd), so the slot that got a round's heaviest row gets the next one's
    lightest. ``(order, slot, makespan)``: the rows in assignment order, each one's slot, the largest slot load."""
    i = np.arange(len(costs))
    r, c = np.divmod(i, num_slots)
    slot = np.where(r % 2 == 0, c, num_slots - 1 - c)
    return i, slot, int(np.bincount(slot, weights=costs, minlength=num_slots).max())


def _list_schedule(costs: np.ndarray, num_slots: int, tail: int, lib=None) -> tuple[np.ndarray, np.ndarray, int]:
    """Rows in order (the last ``tail`` re-sorted heaviest first), each to the slot that frees first in the cost
    model (the lowest slot among equal times): what a dynamic scheduler would do, decided on the host. Same return
    as :func:`_serpentine`. ``lib``: the compiled twin (``cute_attn/csrc/prefill_plan.cpp``), same result."""
    costs = np.ascontiguousarray(costs, dtype=np.int64)
    if lib is not None:
        n = len(costs)
        order, slot, tmp = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64)
        heap_time, heap_slot = np.empty(num_slots, np.int64), np.empty(num_slots, np.int32)
        span = lib.prefill_list_schedule(costs.ctypes.data, n, num_slots, tail, order.ctypes.data, slot.ctypes.data,
                                         heap_time.ctypes.data, heap_slot.ctypes.data, tmp.ctypes.data)
        if span < 0:
            raise RuntimeError(f"prefill_list_schedule failed ({span}) for {n} rows on {num_slots} slots")
        return order, slot, int(span)
    order = np.arange(len(costs))
    if tail > 1:
        cut = len(costs) - min(tail, len(costs))
        order[cut:] = cut + np.argsort(-costs[cut:], kind="stable")
    heap = [(0, s) for s in range(num_slots)]
    slot = np.empty(len(costs), dtype=np.int64)
    for k, cost in enumerate(costs[order].tolist()):
        t, s = heap[0]
        heapq.heapreplace(heap, (t + cost, s))
        slot[k] = s
    return order, slot, max(t for t, _ in heap)


_PLAN_LIB: list = []
PLAN_LIB_ABI = 2
# prefill_plan_packed's int64 argument block (prefill_plan.cpp's enum PlanArg): the inputs, then the results
(PA_QO, PA_KV, PA_EXTRA, PA_BATCH, PA_NUM_QO_HEADS, PA_NUM_KV_HEADS, PA_CAUSAL, PA_BASE_M, PA_SHORT_M, PA_FACTOR,
 PA_ROW_BYTES, PA_SECTION_BYTES, PA_SMALL_BYTES, PA_OVERHEAD, PA_SLOTS, PA_ONLY, PA_OUT, PA_OUT_CAP, PA_SCRATCH,
 PA_SCRATCH_LEN, PA_ROW_CAP, PA_N_ROWS, PA_N_SLOTS, PA_HOW, PA_TAIL, PA_TILE_M, PA_VARIANT_M, PA_HEAD,
 PA_SPAN) = range(29)
PA_LEN = 29
_pack_plan_args = struct.Struct("@9qd11q").pack_into  # PA_QO .. PA_ROW_CAP (PA_FACTOR a double)
_unpack_plan_results = struct.Struct("@8q").unpack_from  # PA_N_ROWS .. PA_SPAN
# why plan() runs the Python planner (None: the compiled one is loaded); set by compiled_schedule()
PLAN_FALLBACK_REASON: list = []


def compiled_schedule(path: str | None = None):
    """The compiled planner (``cute_attn/csrc/prefill_plan.cpp``: the whole host plan in one call, and the list
    schedule alone) with its ctypes signatures, or None when it is not built, is of another ABI or
    ``CUTE_ATTN_NO_HOSTLIB=1``: plan() then runs the Python planner (the same work tensor, ~50-100x slower), warns
    once, and :func:`planner` says why. ``path`` loads a given build (tests)."""
    if path is None and _PLAN_LIB:
        return _PLAN_LIB[0]
    from . import hostlib

    lib = hostlib.load("prefill_plan", path)
    reason = None
    if lib is None:
        reason = ("disabled by CUTE_ATTN_NO_HOSTLIB=1" if os.environ.get("CUTE_ATTN_NO_HOSTLIB") == "1" and path is None
                  else f"{hostlib.file_name('prefill_plan')} not found in the artifact directories "
                       "(build it with `python -m cute_attn.build`)")
    elif lib.prefill_plan_abi() != PLAN_LIB_ABI or lib.prefill_plan_arg_len() != PA_LEN:
        reason = f"the loaded prefill_plan library has ABI {lib.prefill_plan_abi()}, this package needs {PLAN_LIB_ABI}"
        lib = None
    else:
        p, i64 = ctypes.c_void_p, ctypes.c_int64
        lib.prefill_list_schedule.restype = i64
        lib.prefill_list_schedule.argtypes = [p, i64, i64, i64, p, p, p, p, p]
        lib.prefill_plan_scratch_len.restype = i64
        lib.prefill_plan_scratch_len.argtypes = [i64, i64, i64]
        # plan() passes its ctypes argument block as is (argtypes None: no per-argument conversion)
        lib.prefill_plan_packed.restype = ctypes.c_int
        lib.prefill_plan_packed.argtypes = None
    if path is None:
        _PLAN_LIB.append(lib)
        PLAN_FALLBACK_REASON.append(reason)
        if reason is not None and os.environ.get("CUTE_ATTN_NO_HOSTLIB") != "1":
            warnings.warn(f"cute_attn prefill plan(): compiled planner unavailable, using the Python planner "
                          f"(same plans, milliseconds per plan): {reason}", RuntimeWarning, stacklevel=3)
    return lib


def planner() -> str:
    """Which planner plan() uses: ``"compiled"``, or ``"python: <why>"``."""
    lib = compiled_schedule()
    return "compiled" if lib is not None else f"python: {PLAN_FALLBACK_REASON[0]}"


def _schedule_only(only: str | None) -> str:
    only = os.environ.get("CUTE_ATTN_PREFILL_SCHEDULE", "") if only is None else only
    if only not in ("", "serpentine", "list"):
        raise ValueError(f"CUTE_ATTN_PREFILL_SCHEDULE must be serpentine or list, got {only!r}")
    return only


def schedule_work(rows: torch.Tensor, costs: list[int], num_slots: int,
                  only: str | None = None) -> tuple[torch.Tensor, int, str]:
    """The kernel's work tensor for ``rows`` (in :func:`make_work_list`'s order, with its costs) on at most
    ``num_slots`` slots (CTAs): ``(work, slots, how)``.

    ``work`` is the slot table then the work rows (``kernels.common.tile_scheduler``): slot ``s`` runs rows
    ``table[s]:table[s + 1]``. Of the serpentine deal and the list schedules (:data:`LIST_TAIL_ROUNDS`), the one
    whose largest slot load (cost model: keys + :data:`TILE_OVERHEAD_KEYS` per tile) is smallest; ties keep the
    serpentine deal. ``how`` names it (``"serpentine"`` or ``"list+<tail rows>"``). No rows: an empty tensor, 0.
    ``only`` (``"serpentine"`` / ``"list"``; default: ``$CUTE_ATTN_PREFILL_SCHEDULE``, development) restricts the choice.
    """
    n = min(len(costs), num_slots)
    if n == 0:
        return torch.zeros((0, 4), dtype=torch.int32), 0, "empty"
    c = np.asarray(costs, dtype=np.int64) + TILE_OVERHEAD_KEYS
    only = _schedule_only(only)
    order, slot, best = _serpentine(c, n)
    how = "serpentine"
    bound = max(-(-int(c.sum()) // n), int(c.max()))  # no schedule's largest load is below this
    tries = () if only == "serpentine" or (not only and best <= bound * 1.002) else LIST_TAIL_ROUNDS
    lib = compiled_schedule() if tries else None
    for rounds in tries:
        o, sl, span = _list_schedule(c, n, rounds * n, lib)
        if span < best or (only == "list" and how == "serpentine"):
            order, slot, best, how = o, sl, span, f"list+{rounds * n}"
    by_slot = order[np.argsort(slot, kind="stable")]  # each slot's rows, in assignment order
    head = -(-(n + 1) // 4)  # the table's rows: n + 1 entries, 4 per row
    table = np.zeros(head * 4, dtype=np.int64)
    table[1: n + 1] = np.cumsum(np.bincount(slot, minlength=n))
    table[: n + 1] += head
    work = np.concatenate([table.astype(np.int32).reshape(head, 4), rows.numpy()[by_slot]])
    return torch.from_numpy(work), n, how


# Split-KV of the last round (session 10): work row word 3 (SPLIT) is 0 for a whole tile, else
# ``(group << 8) | (piece << 4) | pieces``: piece ``p`` of ``pieces`` covers key blocks ``split_blocks(nb, p, pieces)``
# of its tile (``nb = ceil(kv_len / tile_n)``), and the pieces of one group are the same (batch, m_block, q_head). The
# kernel writes each piece's normalized O and its LSE to the plan's ``part`` rows and the last piece to finish merges.
SPLIT_MAX_PIECES = 15
SPLIT_MAX_GROUPS = 1 << 23
SPLIT_ENV = "CUTE_ATTN_PREFILL_SPLIT"


def split_word(group: int, piece: int, pieces: int) -> int:
    """Work row word 3 of piece ``piece`` of ``pieces`` of group ``group``."""
    return (group << 8) | (piece << 4) | pieces


def split_fields(word: int) -> tuple[int, int, int]:
    """``(group, piece, pieces)`` of a work row's word 3 (``pieces == 0``: a whole tile)."""
    return word >> 8, (word >> 4) & 15, word & 15


def split_blocks(nb: int, piece: int, pieces: int) -> tuple[int, int]:
    """Key blocks ``[lo, hi)`` of piece ``piece`` of ``pieces`` over a tile's ``nb`` key blocks."""
    return piece * nb // pieces, (piece + 1) * nb // pieces


def split_enabled() -> bool:
    """``CUTE_ATTN_PREFILL_SPLIT`` (read at plan time): unset or ``1``: plans may split the last round (the default),
    ``0``: never (A/B of the same kernel without it)."""
    value = os.environ.get(SPLIT_ENV)
    if value is None or value == "1":
        return True
    if value == "0":
        return False
    raise ValueError(f"{SPLIT_ENV} must be 0 or 1, got {value!r}")


def split_tail(work, num_slots: int, kv_len: int, tile_n: int, max_pieces: int = SPLIT_MAX_PIECES):
    """Split-KV of the last round of an equal-cost schedule (``work``: :func:`schedule_work`'s tensor or array on
    ``num_slots`` slots, every row of one cost: non-causal, one ``kv_len``): ``(work', groups, pieces)``, or None
    where it does not apply.

    With ``R`` rows, ``k = R // C`` and ``t = R % C > 0`` (``C = num_slots``), each slot must hold ``k`` or ``k + 1``
    rows; the ``t`` slots with ``k + 1`` give up their last row, which become groups ``0 .. t - 1`` (in slot order),
    each split into ``P = min(C // t, max_pieces, nb)`` pieces over its ``nb = ceil(kv_len / tile_n)`` key blocks
    (``P >= 2``, else None). Piece ``p`` of group ``g`` (index ``j = p * t + g < t * P <= C``) goes to slot ``j``,
    after that slot's ``k`` rows: every slot runs ``k`` rows plus at most one piece, and the pieces of a group run
    on distinct slots. ``work'`` is an int32 numpy array (slot table, then the rows)."""
    C = num_slots
    head = (C + 4) // 4
    n = len(work)
    R = n - head
    if C <= 0 or R <= C or kv_len <= 0:
        return None
    k, t = divmod(R, C)
    if not t:
        return None
    P = min(C // t, max_pieces, -(-kv_len // tile_n))
    if P < 2:
        return None
    w = np.ascontiguousarray(work, dtype=np.int32)
    table = w[:head].reshape(-1)[: C + 1]
    body = w[head:].view(np.complex128).reshape(-1)  # a row as one 16-byte element (1-D gathers are ~10x faster)
    # the schedules of equal rows (serpentine, list) give the k + 1 rows to one run of slots, first or last
    a = 0 if table[1] - table[0] == k + 1 else C - t
    if (table == _split_runs(C, k, t, a)).all():
        b0, b1 = a * k, a * k + t * (k + 1)
        mid = body[b0:b1].reshape(t, k + 1)
        kept = np.concatenate((body[:b0], mid[:, :k].reshape(-1), body[b1:]))  # each slot's first k rows
        groups = mid[:, k]  # the rows given up: group g from the g-th long slot
    else:
        counts = table[1:] - table[:-1]
        long_slots = np.flatnonzero(counts != k)
        if table[0] != head or table[C] != n or len(long_slots) != t or counts.max() != k + 1:
            return None  # not k or k + 1 rows per slot (t slots not of k rows, none above k + 1: those t hold k + 1)
        last = table[long_slots + 1] - 1 - head
        keep = np.ones(R, dtype=bool)
        keep[last] = False
        kept, groups = body[keep], body[last]
    tp = t * P
    new_table, words = _split_layout(C, k, t, P)
    out = np.empty((head + R - t + tp, 4), dtype=np.int32)
    out[:head] = new_table
    oc = out[head:].view(np.complex128).reshape(-1)
    blk = oc[: tp * (k + 1)].reshape(tp, k + 1)
    blk[:, :k] = kept[: tp * k].reshape(tp, k)
    blk.reshape(P, t, k + 1)[:, :, k] = groups  # piece j = p * t + g (group g, piece p) on slot j
    oc[tp * (k + 1):] = kept[tp * k:]
    out[head + k: head + tp * (k + 1): k + 1, 3] = words
    return out, t, P


_SPLIT_LAYOUTS: OrderedDict = OrderedDict()


def _split_layout(C: int, k: int, t: int, P: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`split_tail`'s slot table rows (``C`` slots of ``k`` rows, the first ``t * P`` with a piece after them)
    and the pieces' word 3 in slot order, cached (read-only)."""
    key = (C, k, t, P, "layout")
    hit = _SPLIT_LAYOUTS.get(key)
    if hit is None:
        head = (C + 4) // 4
        s = np.arange(C + 1, dtype=np.int64)
        table = np.zeros(head * 4, dtype=np.int32)
        table[: C + 1] = head + s * k + np.minimum(s, t * P)
        p, g = np.divmod(np.arange(t * P, dtype=np.int32), t)
        hit = (table.reshape(head, 4), (g << 8) | (p << 4) | P)
        for x in hit:
            x.flags.writeable = False
        _SPLIT_LAYOUTS[key] = hit
        if len(_SPLIT_LAYOUTS) > 64:
            _SPLIT_LAYOUTS.popitem(last=False)
    return hit


def _split_runs(C: int, k: int, t: int, a: int) -> np.ndarray:
    """The slot table (``C + 1`` entries) of ``C`` slots of ``k`` rows but slots ``a .. a + t - 1`` of ``k + 1``,
    cached (read-only)."""
    key = (C, k, t, a)
    hit = _SPLIT_LAYOUTS.get(key)
    if hit is None:
        s = np.arange(C + 1, dtype=np.int64)
        hit = ((C + 4) // 4 + s * k + np.clip(s - a, 0, t)).astype(np.int32)
        hit.flags.writeable = False
        _SPLIT_LAYOUTS[key] = hit
        if len(_SPLIT_LAYOUTS) > 64:
            _SPLIT_LAYOUTS.popitem(last=False)
    return hit


def _uniform_kv_len(qo: torch.Tensor, kv: torch.Tensor) -> int:
    """The kv length shared by every request with queries (CPU int32 indptr tensors), or -1 (none, or several)."""
    if qo.numel() <= 33:  # small batches: in Python (a few numpy calls cost more)
        q, k = qo.tolist(), kv.tolist()
        lens = {b - a for a, b, c, d in zip(k, k[1:], q, q[1:]) if d > c}
        return lens.pop() if len(lens) == 1 else -1
    q_lens, kv_lens = np.diff(qo.numpy()), np.diff(kv.numpy())
    sel = kv_lens[q_lens > 0]
    if not len(sel) or sel.min() != sel.max():
        return -1
    return int(sel[0])


_SPLIT_TILES: dict = {}


def _split_tile(head_dim: int, head_dim_v: int, causal: bool, tile_m: int,
                paged: bool = False) -> tuple[int, int] | None:
    """``(tile_m, tile_n)`` of the dense (``paged``: the paged) variant when its config has ``split_kv``, else None
    (cached per value of the tile-override environment, as :func:`_plan_consts`)."""
    config = _CONFIG[0] if _CONFIG else _config()
    key = (head_dim, head_dim_v, causal, tile_m, paged, os.environ.get(config.BUILD_OVERRIDES_ENV))
    if key in _SPLIT_TILES and not config._OVERRIDES:
        return _SPLIT_TILES[key]
    cfg = config.prefill_config(head_dim, head_dim_v, causal, tile_m, paged=paged)
    hit = (cfg.tile_m, cfg.tile_n) if cfg.split_kv and not causal else None
    if not config._OVERRIDES:
        _SPLIT_TILES[key] = hit
    return hit


_NO_SPLIT_BUFFERS: dict = {}


def _split_buffers(split, tile_m: int, head_dim_v: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """The kernel's ``part`` (float32 ``(groups * pieces * tile_m, head_dim_v + 1)``: each piece's O rows and, in the
    last column, its LSE) and ``count`` (int32 ``(groups * 4,)``, zeroed here once: the kernel's last finisher of
    each (group, warpgroup) sets it back to 0) of a plan; ``split = (groups, pieces)``. A plan without a split gets
    a 1-row ``part`` and a 4-entry ``count`` that the kernel never touches (shared per device and head_dim_v)."""
    if split is None:
        key = (device, head_dim_v)
        hit = _NO_SPLIT_BUFFERS.get(key)
        if hit is None:
            hit = _NO_SPLIT_BUFFERS[key] = (torch.empty((1, head_dim_v + 1), dtype=torch.float32, device=device),
                                            torch.zeros(4, dtype=torch.int32, device=device))
        return hit
    groups, pieces = split
    return (torch.empty((groups * pieces * tile_m, head_dim_v + 1), dtype=torch.float32, device=device),
            torch.zeros(groups * 4, dtype=torch.int32, device=device))


@dataclasses.dataclass
class _Plan:
    spec: PrefillSpec
    num_qo_heads: int
    num_kv_heads: int
    total_q: int
    total_kv: int
    sm_scale: float
    qo_indptr: torch.Tensor  # device int32
    kv_indptr: torch.Tensor
    work: torch.Tensor  # device int32 (table rows + num_work, 4): schedule_work's slot table and work rows
    num_ctas: int
    schedule: str = ""  # schedule_work's choice
    # the kernel's split-KV buffers (_split_buffers) and the split, (groups, pieces) of split_tail, or None
    part: torch.Tensor | None = None
    count: torch.Tensor | None = None
    split: tuple[int, int] | None = None


def _host_indptr(name: str, t, check: bool = True):
    """The values of an indptr argument (a list/tuple of ints or an index tensor): a list, validated; with
    ``check=False`` an ``array("q")`` whose order is left to the compiled planner (which declines a bad one: then
    :func:`_make_plan` validates here and raises), or the validated list where the quick conversion fails."""
    if not check:
        try:
            if isinstance(t, (list, tuple)):
                values = array("q", t)
            else:
                C.index_vector(name, t)
                values = array("q", t.tolist())  # a device tensor costs one sync here: pass CPU tensors to plan()
            if values:
                return values
        except (TypeError, OverflowError):
            pass
    if isinstance(t, (list, tuple)):
        values = C.int_list(name, t)
    else:
        C.index_vector(name, t)
        values = t.tolist()  # a device tensor costs one sync here: pass CPU tensors to plan()
    if not values:
        raise ValueError(f"{name} must have at least one element")
    C.indptr_values(name, values)
    return values


def _num_sms(device: torch.device) -> int:
    C.cuda_available(device)
    return torch.cuda.get_device_properties(device).multi_processor_count


def _to_device(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``t`` on ``device``: a CPU tensor goes through pinned memory without a sync; a tensor already on
    a GPU is copied device to device (the plan owns its copy, so the caller may reuse its buffer)."""
    if device.type != "cuda":
        return t
    if t.device.type == "cpu":
        return t.pin_memory().to(device, non_blocking=True)
    return t.to(device, copy=True)


_MAKE_WORK_LIST, _SCHEDULE_WORK = make_work_list, schedule_work  # what the compiled planner does (see _plan_host)


@dataclasses.dataclass
class _HostPlan:
    """The host part of a plan: the variant's ``tile_m`` (choose_tile_m), the work tensor (schedule_work's), the
    int32 indptr arrays (``extra``: a third one, or None), the CTAs and the schedule's name. ``buffer``: the
    compiled planner's output (work, then the indptr arrays) that the others view, copied to the GPU at once."""

    variant_m: int
    work: torch.Tensor
    qo: torch.Tensor
    kv: torch.Tensor
    extra: torch.Tensor | None
    num_ctas: int
    schedule: str
    buffer: torch.Tensor | None = None
    storage: torch.Tensor | None = None  # the compiled planner's whole output allocation (``buffer`` is its head)
    split: tuple[int, int] | None = None  # (groups, pieces) of split_tail, or None


class _PlanScratch(threading.local):
    """The compiled planner's argument block and int64 scratch, per thread (reused by every plan)."""

    def __init__(self):
        self.args = (ctypes.c_int64 * PA_LEN)()
        self.scratch = np.empty(0, np.int64)
        self.scratch_ptr = 0


_SCRATCH = _PlanScratch()


def _plan_scratch_len(batch: int, row_cap: int, slots: int) -> int:
    """int64 words of the compiled planner's scratch (its prefill_plan_scratch_len; tests check they agree)."""
    s = max(1, slots if 0 < slots < row_cap else row_cap)
    return 3 * batch + 7 * row_cap + 24 * s + 16


def _plan_host_compiled(lib, qo: list[int], kv: list[int], extra: list[int] | None, num_qo_heads: int,
                        num_kv_heads: int, causal: bool, base_m: int, short, kv_row_bytes: int, slots: int,
                        only: str, pinned: bool, spare_rows: int = 0) -> _HostPlan | None:
    """:func:`_plan_host_python`'s result from one call of the compiled planner, or None where it declines (values
    past int32: the Python planner then plans or raises). ``pinned``: the output in pinned memory (a GPU plan).
    ``spare_rows``: work rows of room left in the allocation (``storage``) for :func:`split_tail`'s pieces."""
    batch = len(qo) - 1
    t_min = min(base_m, short[0]) if short else base_m
    row_cap = num_qo_heads * ((qo[-1] + batch * (t_min - 1)) // t_min)  # >= the rows of either tile
    n_ind = 2 if extra is None else 3
    head_cap = (max(1, slots if 0 < slots < row_cap else row_cap) + 4) // 4
    out = torch.empty((head_cap + row_cap + spare_rows) * 4 + n_ind * (batch + 1), dtype=torch.int32,
                      pin_memory=pinned)
    ctx = _SCRATCH
    need = _plan_scratch_len(batch, row_cap, slots)
    if ctx.scratch.shape[0] < need:
        ctx.scratch = np.empty(max(need, 2 * ctx.scratch.shape[0]), np.int64)
        ctx.scratch_ptr = ctx.scratch.ctypes.data
    qa = qo if type(qo) is array else array("q", qo)
    ka = kv if type(kv) is array else array("q", kv)
    ea = array("q", extra) if extra is not None else None
    args = ctx.args
    _pack_plan_args(args, 0, qa.buffer_info()[0], ka.buffer_info()[0], ea.buffer_info()[0] if ea else 0, batch,
                    num_qo_heads, num_kv_heads, 1 if causal else 0, base_m, short[0] if short else 0,
                    float(short[1]) if short else 0.0, kv_row_bytes, L2_SECTION_BYTES, SMALL_UNIT_BYTES,
                    TILE_OVERHEAD_KEYS, slots, ("", "serpentine", "list").index(only), out.data_ptr(),
                    out.shape[0], ctx.scratch_ptr, ctx.scratch.shape[0], row_cap)
    rc = lib.prefill_plan_packed(args)
    if rc == -3:
        return None
    if rc:
        raise RuntimeError(f"prefill_plan_packed failed ({rc}) for a batch of {batch}")
    n_rows, n_slots, how, tail, _, variant_m, head, _ = _unpack_plan_results(args, PA_N_ROWS * 8)
    w = (head + n_rows) * 4
    b1 = batch + 1
    schedule = ("empty", "serpentine", f"list+{tail}")[how]
    return _HostPlan(variant_m, out[:w].view(-1, 4), out[w:w + b1], out[w + b1:w + 2 * b1],
                     out[w + 2 * b1:w + 3 * b1] if extra is not None else None, n_slots, schedule,
                     out[:w + n_ind * b1], out)


def _plan_host_python(qo: list[int], kv: list[int], extra: list[int] | None, num_qo_heads: int, num_kv_heads: int,
                      causal: bool, base_m: int, short, kv_row_bytes: int, slots: int, only: str,
                      cluster: int = 1) -> _HostPlan:
    """The host plan in Python (the reference): choose_tile_m's rule (``short``: ``PREFILL_SHORT_TILE``'s entry or
    None), make_work_list, schedule_work on ``slots`` CTAs (< 0: one per row). ``cluster = 2``: pair rows
    (make_work_list's), ``slots`` counts clusters and ``num_ctas`` is twice the clusters used."""
    q_lens = [qo[i + 1] - qo[i] for i in range(len(qo) - 1)]
    kv_lens = [kv[i + 1] - kv[i] for i in range(len(kv) - 1)]
    variant_m, tile_m = 0, base_m
    if short is not None:
        def padded(t: int) -> int:
            return sum((n + t - 1) // t * t for n in q_lens)

        if padded(base_m) > short[1] * padded(short[0]):
            variant_m = tile_m = short[0]
    rows, costs = make_work_list(q_lens, kv_lens, num_qo_heads, tile_m, causal, num_kv_heads, kv_row_bytes,
                                 return_costs=True, **({"cluster": cluster} if cluster > 1 else {}))
    work, num_ctas, how = schedule_work(rows, costs, slots if slots >= 0 else len(costs), only)
    i32 = torch.int32
    return _HostPlan(variant_m, work, torch.tensor(qo, dtype=i32), torch.tensor(kv, dtype=i32),
                     torch.tensor(extra, dtype=i32) if extra is not None else None, cluster * num_ctas, how)


def _checked(values, name: str) -> list[int]:
    """``values`` (a list, or an unchecked ``array("q")`` of :func:`_host_indptr`) as a validated list."""
    if isinstance(values, array):
        values = values.tolist()
        C.indptr_values(name, values)
    return values


def _apply_split(hp: _HostPlan, slots: int, tile_n: int) -> None:
    """:func:`split_tail` on the host plan ``hp`` (before its copy to the device), where every request with queries
    has one kv length; the compiled planner's output is rewritten in its own allocation (the indptr arrays move up
    behind the longer work), the Python planner's work replaced."""
    kv_len = _uniform_kv_len(hp.qo, hp.kv)
    if kv_len <= 0:
        return
    res = split_tail(hp.work.numpy(), slots, kv_len, tile_n)
    if res is None:
        return
    work, groups, pieces = res
    hp.split = (groups, pieces)
    if hp.storage is None:
        hp.work = torch.from_numpy(work)
        return
    w, n_ind = work.size, 2 if hp.extra is None else 3
    b1 = hp.qo.numel()
    store = hp.storage.numpy()
    old_w = hp.work.numel()
    store[w:w + n_ind * b1] = store[old_w:old_w + n_ind * b1].copy()  # (overlapping: w > old_w)
    store[:w] = work.reshape(-1)
    out = hp.storage
    hp.work, hp.qo, hp.kv = out[:w].view(-1, 4), out[w:w + b1], out[w + b1:w + 2 * b1]
    if hp.extra is not None:
        hp.extra = out[w + 2 * b1:w + 3 * b1]
    hp.buffer = out[:w + n_ind * b1]


def _plan_host(qo, kv, extra, num_qo_heads, num_kv_heads, causal, base_m, short, kv_row_bytes, device,
               split_tile=None, cluster: int = 1) -> _HostPlan:
    """The host plan for ``device``: the compiled planner when built, else (or where it declines) the Python one;
    on a GPU, its tensors already copied there (one non-blocking copy from pinned memory when compiled).
    ``split_tile``: where the plan may split its last round (a dense non-causal plan, ``CUTE_ATTN_PREFILL_SPLIT`` on),
    a function of the planner's ``variant_m`` giving the variant's ``(tile_m, tile_n)`` when it can split, else None
    (:func:`split_tail`, on a GPU's slots only: a CPU plan has one slot per row).
    ``cluster = 2`` (a 2-CTA cluster variant, ``kernels.common.config.prefill_cluster``, NOTES-prefill 27): pair rows
    on one slot per 2 CTAs, never split. Non-causal (the only clustered variants), a pair of ``tile_m`` tiles costs
    what one ``cluster * tile_m`` tile does, so the compiled planner plans ``cluster * tile_m`` tiles (no short tile)
    and their ``m_block`` words are scaled by ``cluster``: the rows of ``make_work_list(..., cluster=2)`` (the Python
    planner's, tests/test_prefill_cluster.py checks they agree)."""
    slots = _plan_slots(device)
    only = _schedule_only(None)
    lib = _PLAN_LIB[0] if _PLAN_LIB else compiled_schedule()
    hp = None
    if cluster > 1:
        split_tile = None  # split_tail knows no pair rows
        if slots > 0:
            slots = max(1, slots // cluster)
        if causal:
            lib = None  # (no causal cluster variant: a causal pair's cost is not one tile's)
    if split_tile is not None and slots <= 0:
        split_tile = None
    if lib is not None and (make_work_list is not _MAKE_WORK_LIST or schedule_work is not _SCHEDULE_WORK
                            or LIST_TAIL_ROUNDS != (0, 1, 2)):
        lib = None  # an experiment replaced a piece the compiled planner has built in: the Python planner runs it
    if lib is not None and cluster > 1:
        hp = _plan_host_compiled(lib, qo, kv, extra, num_qo_heads, num_kv_heads, causal, cluster * base_m, None,
                                 kv_row_bytes, slots, only, device.type == "cuda", 0)
        if hp is not None:
            if hp.num_ctas:
                hp.work[int(hp.work[0, 0]):, 1] *= cluster  # pair index -> the pair's first tile
            hp.num_ctas *= cluster
    elif lib is not None:
        hp = _plan_host_compiled(lib, qo, kv, extra, num_qo_heads, num_kv_heads, causal, base_m, short, kv_row_bytes,
                                 slots, only, device.type == "cuda", slots if split_tile is not None else 0)
    if hp is None:
        qo, kv = _checked(qo, "qo_indptr"), _checked(kv, "kv_indptr")  # (unchecked arrays of plan(): raises here)
        hp = _plan_host_python(qo, kv, extra, num_qo_heads, num_kv_heads, causal, base_m, short, kv_row_bytes, slots,
                               only, cluster)
    if split_tile is not None and hp.num_ctas == slots:
        tiles = split_tile(hp.variant_m)
        if tiles is not None:
            _apply_split(hp, slots, tiles[1])
    if hp.buffer is None:
        if device.type == "cuda":
            hp.work, hp.qo, hp.kv = _to_device(hp.work, device), _to_device(hp.qo, device), _to_device(hp.kv, device)
            if hp.extra is not None:
                hp.extra = _to_device(hp.extra, device)
    elif device.type == "cuda":
        dev = hp.buffer.to(device, non_blocking=True)  # pinned: no sync; the allocator keeps it until the copy ran
        w, b1 = hp.work.numel(), hp.qo.numel()
        hp.work, hp.qo, hp.kv = dev[:w].view(-1, 4), dev[w:w + b1], dev[w + b1:w + 2 * b1]
        if hp.extra is not None:
            hp.extra = dev[w + 2 * b1:w + 3 * b1]
        hp.buffer = dev
    return hp


_PLAN_CONSTS: dict = {}
_CONFIG: list = []


def _config():
    from .kernels.common import config

    _CONFIG.append(config)
    return config


def _plan_consts(head_dim: int, head_dim_v: int, causal: bool, paged: bool = False) -> tuple:
    """``(base tile_m, PREFILL_SHORT_TILE entry or None)`` of the head dims (``paged``: the paged kernel's tile and
    short variant, ``config.short_tile``), cached per value of the tile-override environment (not while ``set_prefill_overrides``
    overrides are set: then looked up each time)."""
    config = _CONFIG[0] if _CONFIG else _config()
    key = (head_dim, head_dim_v, causal, paged, os.environ.get(config.BUILD_OVERRIDES_ENV))
    hit = _PLAN_CONSTS.get(key)
    if hit is None or config._OVERRIDES:
        hit = (tile_m_for(head_dim, head_dim_v, causal, paged=paged),
               config.short_tile(head_dim, head_dim_v, causal, paged))
        if not config._OVERRIDES:
            _PLAN_CONSTS[key] = hit
    return hit


def _plan_tiles(qo, head_dim: int, head_dim_v: int, causal: bool, paged: bool = False):
    """The tile inputs of a plan, dense or (``paged``) paged: ``(base_m, short, forced, split_tile)``. ``base_m`` /
    ``short``: :func:`_plan_consts`'s, for the planner's choice (choose_tile_m's rule); ``forced``: the variant of a
    replaced ``choose_tile_m`` (tests, benches; then ``short`` is None and ``base_m`` that variant's rows), else None
    (a paged plan takes a forced tile equal to its table tile as the table variant, 0, and refuses one it has not);
    ``split_tile``: for :func:`_plan_host` where the plan may split its last round (non-causal, the split switch
    on): the variant's ``(tile_m, tile_n)`` when its config has ``split_kv``, else None."""
    base_m, short = _plan_consts(head_dim, head_dim_v, causal, paged)
    forced = None
    if choose_tile_m is not _CHOOSE_TILE_M:  # replaced (tests, bench.prefill_ab force a variant): its choice
        forced = choose_tile_m([qo[i + 1] - qo[i] for i in range(len(qo) - 1)], head_dim, head_dim_v, causal)
        if paged:
            if forced == base_m:
                forced = 0  # (hd128: the dense kernel's short tile is the paged table's)
            if forced and forced != (short[0] if short else None):
                raise ValueError(f"the paged kernel has no tile_m={forced} variant for head dims ({head_dim}, "
                                 f"{head_dim_v}), causal={causal}")
        base_m, short = tile_m_for(head_dim, head_dim_v, causal, forced, paged=paged), None
    split_tile = None
    if split_enabled() and not causal:  # (the switch is checked for every plan)
        def split_tile(variant_m):
            return _split_tile(head_dim, head_dim_v, causal, variant_m if forced is None else forced, paged=paged)
    return base_m, short, forced, split_tile


_SPECS: dict = {}


def _make_plan(qo, kv, num_qo_heads, num_kv_heads, head_dim, head_dim_v, causal, sm_scale, dtype, device):
    """The plan of a batch; ``qo``/``kv``: :func:`_host_indptr`'s values (unchecked arrays are checked here where
    the compiled planner declines them, or where it is not built)."""
    if len(qo) != len(kv):
        raise ValueError(f"qo_indptr has {len(qo)} entries but kv_indptr has {len(kv)}")
    for name, n in (("num_qo_heads", num_qo_heads), ("num_kv_heads", num_kv_heads)):
        if type(n) is not int or n <= 0:
            if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
                raise ValueError(f"{name} must be a positive int, got {n!r}")
    if num_qo_heads % num_kv_heads:
        raise ValueError(f"num_qo_heads ({num_qo_heads}) must be a multiple of num_kv_heads ({num_kv_heads})")
    if (head_dim, head_dim_v) not in PREFILL_HEAD_DIMS:
        raise ValueError(f"(head_dim, head_dim_v) must be one of {PREFILL_HEAD_DIMS}, got ({head_dim}, {head_dim_v})")
    if dtype not in C.VALUE_DTYPES:
        raise TypeError(f"q_data_type must be torch.bfloat16 or torch.float16, got {dtype}")
    scale = C.softmax_scale(sm_scale, head_dim)
    causal = bool(causal)
    base_m, short, forced, split_tile = _plan_tiles(qo, head_dim, head_dim_v, causal)
    cluster = _prefill_cluster(head_dim, head_dim_v, causal)
    hp = _plan_host(qo, kv, None, num_qo_heads, num_kv_heads, causal, base_m, short,
                    (head_dim + head_dim_v) * dtype.itemsize, device, split_tile, cluster)
    if forced is not None:
        hp.variant_m = forced
    key = (dtype, head_dim, head_dim_v, causal, hp.variant_m)
    spec = _SPECS.get(key)
    if spec is None:
        spec = _SPECS[key] = PrefillSpec(dtype=C.VALUE_DTYPES[dtype], head_dim=head_dim, head_dim_v=head_dim_v,
                                         causal=causal, tile_m=hp.variant_m)
    part, count = _split_buffers(hp.split, split_tile(hp.variant_m)[0] if hp.split else 0, head_dim_v, device)
    return _Plan(spec, num_qo_heads, num_kv_heads, qo[-1], kv[-1], scale, hp.qo, hp.kv, hp.work, hp.num_ctas,
                 hp.schedule, part, count, hp.split)


def _prefill_cluster(head_dim: int, head_dim_v: int, causal: bool) -> int:
    """CTAs per cluster of the dense variant (``CUTE_ATTN_PREFILL_CLUSTER``, read at plan time: 1 unless the switch is
    2 and applies, ``kernels.common.config.prefill_cluster``)."""
    if causal or os.environ.get("CUTE_ATTN_PREFILL_CLUSTER") == "1":
        return 1  # (the common cases without the config import)
    config = _CONFIG[0] if _CONFIG else _config()
    return config.prefill_cluster(head_dim, head_dim_v, causal)


def _plan_slots(device: torch.device) -> int:
    """The schedule's slots: on a GPU the persistent grid's CTAs (:func:`_max_ctas`), on the CPU one per row (-1)."""
    return _max_ctas(device) if device.type == "cuda" else -1


def _max_ctas(device: torch.device) -> int:
    """CTAs the persistent grid may use: one per SM, at most ``CUTE_ATTN_PREFILL_CTAS`` where that is set
    (development: A/B of grid sizes; a 2-CTA cluster variant runs at least one cluster whatever the cap)."""
    sms = _num_sms(device)
    cap = os.environ.get("CUTE_ATTN_PREFILL_CTAS")
    return max(1, min(sms, int(cap))) if cap else sms


def _check_qkv(plan: _Plan, q, k, v):
    C.tensor("q", q, ndim=3)
    C.tensor("k", k, ndim=3)
    C.tensor("v", v, ndim=3)
    C.value_dtype("q", q)
    C.same_dtype("q", q, k=k, v=v)
    if C.VALUE_DTYPES[q.dtype] != plan.spec.dtype:
        raise TypeError(f"q has dtype {q.dtype} but the plan was made for {plan.spec.dtype}")
    C.shape("q", q, (plan.total_q, plan.num_qo_heads, plan.spec.head_dim))
    C.shape("k", k, (plan.total_kv, plan.num_kv_heads, plan.spec.head_dim))
    C.shape("v", v, (plan.total_kv, plan.num_kv_heads, plan.spec.head_dim_v))
    for name, t in (("q", q), ("k", k), ("v", v)):
        C.aligned_rows(name, t)


def _run(plan: _Plan, q, k, v, out, return_lse):
    _check_qkv(plan, q, k, v)
    o_shape = (plan.total_q, plan.num_qo_heads, plan.spec.head_dim_v)
    if out is None:
        out = C.empty(o_shape, q.dtype, q.device)
    else:
        C.tensor("out", out, ndim=3)
        C.same_dtype("q", q, out=out)
        C.shape("out", out, o_shape)
        C.aligned_rows("out", out)
        C.distinct_elements("out", out)
    C.cuda_device(q=q, k=k, v=v, out=out, qo_indptr=plan.qo_indptr)
    lse = C.empty((plan.num_qo_heads, plan.total_q), torch.float32, q.device)
    if plan.work.shape[0] and plan.total_kv == 0:
        # no key in the whole batch: every query's output is 0 and its LSE -inf. No launch: the kernel's TMA
        # descriptors cannot describe a K/V tensor with no rows (the driver requires non-zero extents).
        out.zero_()
        lse.fill_(float("-inf"))
    elif plan.work.shape[0]:
        with torch.cuda.device(q.device):
            # the kernel declares strides as multiples of 8 elements: size-1 dims get stride 0 (as paged / decode;
            # the `1 in shape` test first keeps the common case at ~0.6 us per tensor instead of ~4)
            get_kernel(plan.spec)(
                *(_kernel_view(t) if 1 in t.shape else t for t in (q, k, v, out)), lse, plan.qo_indptr,
                plan.kv_indptr, plan.work, plan.part, plan.count, plan.num_ctas, plan.sm_scale
            )
    return (out, lse.t()) if return_lse else out


class BatchPrefillWithRaggedKVCacheWrapper:
    """Prefill over a ragged batch, FlashInfer-style: ``plan()`` once per batch layout, ``run()`` per layer.

    ``plan`` is host work (the tile schedule, heaviest tiles first: one call of the compiled planner when it is
    built, ``python -m cute_attn.build``, else the Python one, which warns once; :func:`planner` says which) plus
    one non-blocking copy of the schedule and the indptr arrays to the GPU; pass ``qo_indptr``/``kv_indptr`` as
    CPU tensors (or lists) to avoid a sync.
    ``run`` only validates and launches, on the current stream, and can be captured in a CUDA graph once
    it has run eagerly (the first call loads the kernel).
    A non-causal plan of long requests of one kv length may split its last round over keys (merged in the kernel;
    ``CUTE_ATTN_PREFILL_SPLIT=0`` at plan time: never); such a plan owns a float32 scratch of its split tiles' rows
    (``pieces * tile_m * (head_dim_v + 1) * 4`` bytes per split tile, 11 MB at 1 x 16k, 16 heads), so two ``run``
    calls of one plan must not overlap on different streams.
    """

    def __init__(self, device: torch.device | str = "cuda"):
        self.device = torch.device(device)
        self._plan: _Plan | None = None

    def plan(self, qo_indptr, kv_indptr, num_qo_heads: int, num_kv_heads: int, head_dim_qk: int,
             head_dim_vo: int | None = None, causal: bool = False, sm_scale: float | None = None,
             q_data_type: torch.dtype = torch.bfloat16) -> None:
        check = (_PLAN_LIB[0] if _PLAN_LIB else compiled_schedule()) is None  # else the compiled planner checks
        qo = _host_indptr("qo_indptr", qo_indptr, check)
        kv = _host_indptr("kv_indptr", kv_indptr, check)
        hdv = head_dim_qk if head_dim_vo is None else head_dim_vo
        self._plan = _make_plan(qo, kv, num_qo_heads, num_kv_heads, head_dim_qk, hdv, causal, sm_scale,
                                q_data_type, self.device)

    def run(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, out: torch.Tensor | None = None,
            return_lse: bool = False):
        """Returns ``out`` ``(total_q, num_qo_heads, head_dim_v)``, and the natural-log LSE
        ``(total_q, num_qo_heads)`` float32 when ``return_lse``."""
        if self._plan is None:
            raise RuntimeError("call plan() before run()")
        return _run(self._plan, q, k, v, out, return_lse)


# prefill()'s plans, least recently used first, keyed by the shapes, options, device and the current stream (a split
# plan's scratch serves one launch at a time: two streams running the same shapes concurrently get a plan each). At
# most _PLAN_CACHE_SIZE plans, holding at most _PLAN_CACHE_SPLIT_BYTES of split-KV scratch (a plan of one long
# non-causal hd128 request holds ~11 MB); the least recently used go first.
_PLAN_CACHE: OrderedDict = OrderedDict()
_PLAN_CACHE_SIZE = 64
_PLAN_CACHE_SPLIT_BYTES = 256 << 20


def _split_scratch_bytes(plan: _Plan) -> int:
    """Bytes of the split-KV scratch a plan owns (0 for a plan without a split: its buffers are shared)."""
    if plan.split is None:
        return 0
    return plan.part.numel() * plan.part.element_size() + plan.count.numel() * plan.count.element_size()


def _cached_split_bytes() -> int:
    """The split scratch bytes the cached plans hold (summed when a plan is added: at most _PLAN_CACHE_SIZE)."""
    return sum(_split_scratch_bytes(p) for p in _PLAN_CACHE.values())


def _cache_plan(key, plan: _Plan) -> None:
    """Insert a plan (the most recently used), then drop the least recently used ones while the cache holds more
    than _PLAN_CACHE_SIZE plans or more than _PLAN_CACHE_SPLIT_BYTES of split scratch (never the new plan)."""
    _PLAN_CACHE[key] = plan
    held = _cached_split_bytes()
    while len(_PLAN_CACHE) > 1 and (len(_PLAN_CACHE) > _PLAN_CACHE_SIZE or held > _PLAN_CACHE_SPLIT_BYTES):
        _, old = _PLAN_CACHE.popitem(last=False)
        held -= _split_scratch_bytes(old)


def prefill(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, causal: bool = False,
            sm_scale: float | None = None, return_lse: bool = False, out: torch.Tensor | None = None):
    """Attention of one request: q ``(q_len, num_qo_heads, head_dim)``, k/v ``(kv_len, num_kv_heads, ...)``.

    ``sm_scale`` defaults to ``1/sqrt(head_dim)``. Returns ``out`` ``(q_len, num_qo_heads, head_dim_v)``
    and, with ``return_lse``, the natural-log LSE ``(q_len, num_qo_heads)`` float32.

    The plan (the tile schedule and, for long non-causal requests, a split-KV scratch) is made on the first call of
    each shape on each stream and kept in a least-recently-used cache (64 plans, at most 256 MB of scratch). A CUDA
    graph that captured a call replays that plan's buffers, which the cache may free later: capture
    :class:`BatchPrefillWithRaggedKVCacheWrapper` instead, whose plan lives as long as the wrapper keeps it.
    """
    for name, t in (("q", q), ("k", k), ("v", v)):
        C.tensor(name, t, ndim=3)
    C.value_dtype("q", q)
    if k.shape[0] != v.shape[0] or k.shape[1] != v.shape[1]:
        raise ValueError(f"k {tuple(k.shape)} and v {tuple(v.shape)} must agree in kv_len and num_kv_heads")
    if k.shape[2] != q.shape[2]:
        raise ValueError(f"k head_dim {k.shape[2]} must equal q head_dim {q.shape[2]}")
    stream = torch.cuda.current_stream(q.device).cuda_stream if q.is_cuda else 0
    key = (q.shape[0], k.shape[0], q.shape[1], k.shape[1], q.shape[2], v.shape[2], bool(causal), sm_scale,
           q.dtype, q.device, stream)
    plan = _PLAN_CACHE.get(key)
    if plan is None:
        plan = _make_plan([0, q.shape[0]], [0, k.shape[0]], q.shape[1], k.shape[1], q.shape[2], v.shape[2],
                          causal, sm_scale, q.dtype, q.device)
        _cache_plan(key, plan)
    else:
        _PLAN_CACHE.move_to_end(key)
    return _run(plan, q, k, v, out, return_lse)
