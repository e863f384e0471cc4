"""CPU: which item transitions the decode GPU tests (tests/test_gpu_decode.py) exercise, per plan (H100: 132 SMs),
for CUTE_ATTN_DECODE_Q_DB (bench/NOTES-decode.md "Session 11 (s11-qdb)"): CTAs, CTAs with >= 2 items, item
transitions, transitions out of an item without tiles, out of / into split parts, and the bench cases' items per CTA.

    PYTHONPATH=<checkout> python3 bench/results/2026-11-24_s11-qdb/transitions.py
"""

import torch

import cute_attn
import cute_attn.decode as D
from cute_attn.layouts.decode_work import DECODE_TILES, Item

D._num_sms = lambda device: 132  # H100 SXM


def stats(kv_lens, hq, hk, d, ps, max_parts=0):
    pages = [(n + ps - 1) // ps for n in kv_lens]
    indptr = torch.tensor([0] + torch.tensor(pages).cumsum(0).tolist(), dtype=torch.int32)
    indices = torch.arange(sum(pages), dtype=torch.int32)
    last = torch.tensor([(n - 1) % ps + 1 if n else 0 for n in kv_lens], dtype=torch.int32)
    D.set_max_parts(max_parts)
    try:
        w = cute_attn.BatchDecodeWithPagedKVCacheWrapper(device="cpu")
        w.plan(indptr, indices, last, hq, hk, d, ps)
    finally:
        D.set_max_parts(0)
    ptr = w._plan.cta_ptr[: w._plan.grid + 1].tolist()
    items = w._plan.items.numpy()
    tile_n = DECODE_TILES[d][0]
    s = dict(ctas=w._plan.grid, multi=0, trans=0, from_empty=0, into_empty=0, from_split=0, into_split=0,
             max_items=0)
    for c in range(w._plan.grid):
        its = items[ptr[c]:ptr[c + 1]]
        s["max_items"] = max(s["max_items"], len(its))
        s["multi"] += int(len(its) >= 2)
        for a, b in zip(its[:-1], its[1:]):
            s["trans"] += 1
            s["from_empty"] += int((a[Item.KV_END] - a[Item.KV_START] + tile_n - 1) // tile_n == 0)
            s["into_empty"] += int(b[Item.KV_END] - b[Item.KV_START] == 0)
            s["from_split"] += int(a[Item.MERGE_ID] >= 0)
            s["into_split"] += int(b[Item.MERGE_ID] >= 0)
    return s


LENS = [1, 17, 113, 1023, 0, 4097, 5]
cases = []
for d in (64, 128, 256):
    for hq, hk in ((8, 8), (32, 8), (64, 8), (16, 1)):
        cases.append((f"heads_and_head_dims d{d} {hq}/{hk}", LENS, hq, hk, d, 16, 0))
for ps in (1, 16, 64):
    cases.append((f"page_sizes ps{ps}", LENS, 32, 8, 128, ps, 0))
for ps in (1, 16):
    for kl in ([32768], [32768, 1, 300, 0, 7000, 64, 65], [2048] * 40):
        cases.append((f"long_and_skewed ps{ps} {kl[:3]}{'..' if len(kl) > 3 else ''}", kl, 32, 8, 128, ps, 0))
for mp in (2, 3, 5, 12):
    cases.append((f"max_parts {mp}", [32768], 32, 8, 128, 16, mp))
cases.append(("mqa_more_than_64", [513, 0, 3000], 128, 1, 128, 16, 0))
cases.append(("split_equals_unsplit", [32768, 9000, 1, 0, 4000], 32, 8, 128, 16, 0))
cases.append(("strided_q", [100, 2000, 3], 8, 2, 128, 16, 0))
cases.append(("empty requests", [0, 0, 0], 32, 8, 128, 16, 0))
print("GPU tests (tests/test_gpu_decode.py):")
tot = dict(trans=0, from_empty=0, into_empty=0, from_split=0, into_split=0)
for name, kl, hq, hk, d, ps, mp in cases:
    s = stats(kl, hq, hk, d, ps, mp)
    for k in tot:
        tot[k] += s[k]
    print(f"  {name:48s} {s}")
print("  total", tot)
print("bench cases (bench/decode_ab.case_lens, 32/8 heads, hd128):")
from bench.decode_ab import case_lens  # noqa: E402
for name in ("64 x 4k", "128 x 1k", "16 x 16k", "1 x 32k", "8 x 32k", "skewed 1 x 32k + 63 x 512"):
    for ps in (16, 1):
        s = stats(case_lens(name), 32, 8, 128, ps)
        print(f"  {name:28s} page {ps:2d}: {s}")
