"""Host cost of the split-KV post-pass in plan() (CPU, no GPU): ``_make_plan`` for 1 x 16k hd128 non-causal bf16,
16 heads, on a stand-in 132-slot GPU (``_plan_slots`` patched; the plan stays on the CPU: no pinned copy, and the
11 MB ``part`` buffer is a CPU allocation), with CUTE_ATTN_PREFILL_SPLIT=1 and 0 in interleaved rounds, and the
post-pass alone (``split_tail`` on the unsplit work tensor, warm).

    CUTE_ATTN_ARTIFACTS=<dir with the prefill_plan host library> PYTHONPATH=$PWD python bench/results/2026-11-24_s10-split/plan_time.py
"""

import importlib
import os
import statistics
import timeit

import torch

P = importlib.import_module("cute_attn.prefill")
P._plan_slots = lambda device: 132
dev = torch.device("cpu")


def make():
    return P._make_plan([0, 16384], [0, 16384], 16, 16, 128, 128, False, None, torch.bfloat16, dev)


def us(fn, number=500):
    """min and median over 9 repeats of ``number`` calls, us per call."""
    xs = [x / number * 1e6 for x in timeit.repeat(fn, number=number, repeat=9)]
    return min(xs), statistics.median(xs)


print("planner:", P.planner())
rows = {"1": [], "0": []}
for rnd in range(4):
    for val in ("1", "0") if rnd % 2 == 0 else ("0", "1"):
        os.environ[P.SPLIT_ENV] = val
        rows[val].append(us(make))
for val, r in rows.items():
    print(f"_make_plan CUTE_ATTN_PREFILL_SPLIT={val}: min/median us per plan, 4 rounds: "
          + ", ".join(f"{a:.0f}/{b:.0f}" for a, b in r))
on = statistics.median(b for _, b in rows["1"])
off = statistics.median(b for _, b in rows["0"])
print(f"added by the split (median of round medians): {on - off:.0f} us ({on:.0f} vs {off:.0f})")
os.environ[P.SPLIT_ENV] = "0"
w = make().work.numpy()
print("split_tail alone (warm), min/median us: %.1f/%.1f" % us(lambda: P.split_tail(w, 132, 16384, 80), 2000))
os.environ[P.SPLIT_ENV] = "1"
p = make()
print("split", p.split, "work rows", tuple(p.work.shape), "part", tuple(p.part.shape), "count", tuple(p.count.shape))
