"""Session 7 s7-cluster, device smoke test of the 2-CTA cluster build (run FIRST, under a short timeout: a pipeline
or cluster-barrier mistake hangs instead of failing). Needs CUTE_ATTN_ARTIFACTS=<build/cl> and
CUTE_ATTN_PREFILL_CLUSTER=2 in the environment. Each case: the package's plan (pair rows, cluster launch) on hd128
non-causal bf16 against a float32 reference (all rows), printed with the plan's CTA and row counts.

    python3 bench/results/2026-11-23_s7-cluster/smoke.py [--cpu-plan]

``--cpu-plan``: no GPU; plans every case for a CPU device and checks the pair rows (the CPU dry run).
"""

from __future__ import annotations

import os
import sys
import time

import torch

import cute_attn
from cute_attn.prefill import _make_plan

# (q_lens, kv_lens, num_qo_heads, num_kv_heads): one pair; odd tile counts (a last pair past the request); a ragged
# batch with an empty member; GQA; one request long enough for several rounds of the persistent grid
CASES = [
    ([256], [256], 1, 1),
    ([300], [300], 2, 2),
    ([1, 17, 0, 129, 1023], [1, 40, 5, 129, 1023], 4, 2),
    ([2048], [2048], 16, 2),
    ([8192], [8192], 16, 16),
]


def reference(q, k, v, qo, kv, hq, hk):
    out = torch.empty(q.shape[0], hq, v.shape[2], dtype=torch.float32, device=q.device)
    g = hq // hk
    for b in range(len(qo) - 1):
        qs, ks = slice(qo[b], qo[b + 1]), slice(kv[b], kv[b + 1])
        if qo[b + 1] == qo[b]:
            continue
        qb = q[qs].float().transpose(0, 1)
        kb = k[ks].float().repeat_interleave(g, 1).transpose(0, 1)
        vb = v[ks].float().repeat_interleave(g, 1).transpose(0, 1)
        if kb.shape[1] == 0:
            out[qs] = 0
            continue
        s = qb @ kb.transpose(1, 2) / q.shape[2] ** 0.5
        out[qs] = (torch.softmax(s, -1) @ vb).transpose(0, 1)
    return out


def main():
    cpu = "--cpu-plan" in sys.argv
    assert os.environ.get("CUTE_ATTN_PREFILL_CLUSTER") == "2", "set CUTE_ATTN_PREFILL_CLUSTER=2"
    ok = True
    for q_lens, kv_lens, hq, hk in CASES:
        qo = [0]
        kv = [0]
        for a, b in zip(q_lens, kv_lens):
            qo.append(qo[-1] + a)
            kv.append(kv[-1] + b)
        dev = torch.device("cpu" if cpu else "cuda")
        plan = _make_plan(qo, kv, hq, hk, 128, 128, False, None, torch.bfloat16, dev)
        tiles = sum(-(-n // 128) for n in q_lens) * hq
        rows = plan.work.shape[0]
        assert plan.num_ctas % 2 == 0 and rows == sum(-(-(-(-n // 128)) // 2) for n in q_lens) * hq, (plan.num_ctas, rows)
        msg = f"q_lens {q_lens} hq {hq} hk {hk}: {tiles} tiles, {rows} pair rows, {plan.num_ctas} CTAs"
        if cpu:
            print(msg, flush=True)
            continue
        torch.manual_seed(0)
        q = torch.randn(qo[-1], hq, 128, dtype=torch.bfloat16, device="cuda")
        k = torch.randn(kv[-1], hk, 128, dtype=torch.bfloat16, device="cuda")
        v = torch.randn(kv[-1], hk, 128, dtype=torch.bfloat16, device="cuda")
        w = cute_attn.BatchPrefillWithRaggedKVCacheWrapper()
        w.plan(qo, kv, hq, hk, 128, causal=False, q_data_type=torch.bfloat16)
        t0 = time.time()
        o = w.run(q, k, v)
        torch.cuda.synchronize()
        err = (o.float() - reference(q, k, v, qo, kv, hq, hk)).abs().max().item()
        good = err < 2e-2
        ok &= good
        print(f"{msg}: max |O - ref| {err:.3g} {'ok' if good else 'FAIL'} ({time.time() - t0:.2f} s)", flush=True)
    print("smoke", "PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
