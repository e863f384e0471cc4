"""Random serving-shaped cases for the fuzz tests (``tests/test_plan_fuzz.py`` on the CPU, ``tests/test_gpu_fuzz.py``
on the GPU): batches of odd, empty, short, long and split-sized requests over every page size class, head geometry,
head dim, dtype and cache layout the API supports. Pure Python (no torch), so the CPU suite can draw them cheaply.

The cases are a function of one integer seed: ``CUTE_ATTN_FUZZ_SEED`` (default :data:`DEFAULT_SEED`) picks the run,
``CUTE_ATTN_FUZZ_CASES`` how many cases each fuzz test draws. A failure names its seed and case index, which is all
that is needed to rerun it (``CUTE_ATTN_FUZZ_SEED=<seed>``)."""

from __future__ import annotations

import os
import random

DEFAULT_SEED = 20261124
HEADS = [(8, 8), (16, 16), (32, 8), (64, 8), (16, 2), (12, 4), (16, 1), (96, 1)]  # MHA, GQA 1-8, MQA, > 64 per kv head
PAGE_SIZES = [1, 2, 3, 5, 16, 32, 64, 128]
HEAD_DIMS = [64, 128, 256]
DTYPES = ["bf16", "fp16"]
LAYOUTS = ["NHD", "HND"]


def seed() -> int:
    return int(os.environ.get("CUTE_ATTN_FUZZ_SEED", DEFAULT_SEED))


def count(default: int) -> int:
    return int(os.environ.get("CUTE_ATTN_FUZZ_CASES", default))


def _kv_len(r: random.Random, long_ok: bool) -> int:
    """One request's KV length: empty, one token, short and odd, page-boundary +-1, medium, or (``long_ok``) long
    enough for the decode planner to split it over SMs."""
    kind = r.random()
    if kind < 0.08:
        return 0
    if kind < 0.16:
        return 1
    if kind < 0.45:
        return r.randint(2, 300)
    if kind < 0.60:
        return r.choice([63, 64, 65, 127, 128, 129, 1023, 1024, 1025])
    if kind < 0.92 or not long_ok:
        return r.randint(301, 4500)
    return r.randint(9000, 33000)


def decode_case(s: int, i: int) -> dict:
    """Decode case ``i`` of seed ``s``: a batch of 1-9 requests (at most one of them long)."""
    r = random.Random(f"decode/{s}/{i}")
    batch = r.randint(1, 9)
    lens = []
    for _ in range(batch):
        lens.append(_kv_len(r, long_ok=not any(n > 8000 for n in lens)))
    # the float64 reference materializes K per query head: a long request with many query heads or a large head dim
    # costs it seconds, so long batches draw at most 32 query heads and head dims up to 128
    long = max(lens) > 8000
    hq, hk = r.choice([(8, 8), (32, 8), (16, 2)] if long else HEADS)
    d = r.choice(HEAD_DIMS[:2] if long else HEAD_DIMS)
    return {
        "kv_lens": lens, "hq": hq, "hk": hk, "d": d, "page_size": r.choice(PAGE_SIZES),
        "dtype": r.choice(DTYPES), "layout": r.choice(LAYOUTS), "sort_pages": r.random() < 0.7,
        "ids_on_gpu": r.random() < 0.3, "sm_scale": r.choice([None, 0.05, 0.3]),
    }


def prefill_case(s: int, i: int) -> dict:
    """Paged prefill / append case ``i`` of seed ``s``: 1-5 requests, each ``q_len <= kv_len`` (append: new tokens at
    the end of a cached prefix; prefill: ``q_len == kv_len``), optionally all sharing their first pages."""
    r = random.Random(f"prefill/{s}/{i}")
    batch = r.randint(1, 5)
    q_lens, kv_lens = [], []
    for _ in range(batch):
        kind = r.random()
        if kind < 0.1:
            kv, q = r.randint(0, 40), 0
        elif kind < 0.45:  # prefill
            kv = r.choice([1, 17, 113, 128, 129, 640, 1023, r.randint(2, 1500)])
            q = kv
        else:  # append: 1-512 new tokens on a cache of up to ~2.5k
            q = r.choice([1, 2, 7, 64, 113, 512, r.randint(1, 512)])
            kv = q + r.randint(0, 2500)
        q_lens.append(q)
        kv_lens.append(kv)
    page_size = r.choice(PAGE_SIZES + [48, 256])
    shared = 0
    if r.random() < 0.2:
        full = min(kv_lens) // page_size  # pages every request owns in full
        shared = r.randint(0, full) if full else 0
    hq, hk = r.choice([(8, 8), (8, 2), (16, 4), (12, 3), (16, 1)])
    return {
        "q_lens": q_lens, "kv_lens": kv_lens, "hq": hq, "hk": hk, "d": r.choice(HEAD_DIMS), "page_size": page_size,
        "causal": r.random() < 0.7, "dtype": r.choice(DTYPES), "layout": r.choice(LAYOUTS),
        "shared_prefix_pages": shared, "sm_scale": r.choice([None, 0.08]),
    }


def decode_graph_case(s: int, i: int, tables: int = 4) -> dict:
    """CUDA-graph decode case ``i`` of seed ``s``: one geometry (captured once) and ``tables`` batches of its batch
    size, each with its own lengths (empty, short, long, split) over a cache of ``num_pages`` pages; the first table
    is the largest (graph-mode buffers are sized by the first plan)."""
    r = random.Random(f"graph/{s}/{i}")
    batch = r.randint(1, 8)
    page_size = r.choice([1, 16, 64])
    cap_tokens = 48000
    lens_list = []
    for _ in range(tables):
        lens = [_kv_len(r, long_ok=True) for _ in range(batch)]
        while sum(lens) > cap_tokens:  # keep the batch inside the cache
            lens[lens.index(max(lens))] //= 2
        lens_list.append(lens)
    pages = [sum((n + page_size - 1) // page_size for n in lens) for lens in lens_list]
    lens_list.insert(0, lens_list.pop(pages.index(max(pages))))
    hq, hk = r.choice([(8, 8), (32, 8), (16, 2)])
    return {
        "tables": lens_list, "num_pages": max(pages) + r.randint(1, 50), "hq": hq, "hk": hk, "d": r.choice([64, 128]),
        "page_size": page_size, "dtype": r.choice(DTYPES), "layout": r.choice(LAYOUTS),
        "indices_buffer": r.random() < 0.5,
    }


def dense_case(s: int, i: int) -> dict:
    """Ragged (dense) prefill case ``i`` of seed ``s``: 1-6 requests of odd, empty, short and medium lengths (a request
    may have queries and no keys, or more keys than queries), every shipped head-dim pair, GQA."""
    r = random.Random(f"dense/{s}/{i}")
    q_lens, kv_lens = [], []
    for _ in range(r.randint(1, 6)):
        q = r.choice([0, 1, 17, 113, 128, 129, 1023, r.randint(2, 1500)])
        kind = r.random()
        kv = q if kind < 0.5 else (q + r.randint(0, 2000) if kind < 0.9 else r.randint(0, 40))
        q_lens.append(q)
        kv_lens.append(kv)
    hd, hdv = r.choice([(64, 64), (128, 128), (256, 256), (192, 128)])
    hq, hk = r.choice([(8, 8), (8, 2), (16, 4), (12, 3), (16, 1)])
    return {"q_lens": q_lens, "kv_lens": kv_lens, "hq": hq, "hk": hk, "hd": hd, "hdv": hdv,
            "causal": r.random() < 0.6, "dtype": r.choice(DTYPES), "sm_scale": r.choice([None, 0.07])}


def serving_case(s: int, i: int) -> dict:
    """Serving-loop case ``i`` of seed ``s``: a batch of prompts (prefilled through the paged wrapper) followed by
    ``steps`` decode steps of one new token per request, pages taken from a shuffled free list as they fill."""
    r = random.Random(f"serving/{s}/{i}")
    batch = r.randint(1, 6)
    page_size = r.choice([1, 3, 16, 64])
    hq, hk = r.choice([(8, 8), (32, 8), (16, 2), (16, 1)])
    return {
        "prompts": [r.choice([1, 2, 15, 16, 17, 63, 64, 65, r.randint(1, 700)]) for _ in range(batch)],
        "steps": r.randint(3, 7), "hq": hq, "hk": hk, "d": r.choice([64, 128, 256]), "page_size": page_size,
        "dtype": r.choice(DTYPES), "layout": r.choice(LAYOUTS), "use_cuda_graph": r.random() < 0.5,
    }
