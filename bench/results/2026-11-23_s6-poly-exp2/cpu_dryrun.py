# CPU dry run of bench.prefill_dense_ab.setup_case with a stand-in kernel (torch, float32) instead of the artifacts:
# plan, per-build kernel dispatch, output checks. PYTHONPATH=$PWD python3 bench/results/2026-11-23_s6-poly-exp2/cpu_dryrun.py
import math, torch
import bench.prefill_dense_ab as m
P = m._P
P.C.cuda_device = lambda **kw: None
class FakeBuild:
    def __init__(self, name, bias=0.0): self.name, self.bias = name, bias
    def __call__(self, spec):
        def kern(q, k, v, out, lse, qo, kv, work, num_ctas, scale):
            qo_l = qo.tolist()
            for b in range(len(qo_l) - 1):
                a, e = qo_l[b], qo_l[b + 1]
                qb, kb, vb = (t[a:e].float().transpose(0, 1) for t in (q, k, v))
                s = qb @ kb.transpose(1, 2) * scale
                if spec.causal:
                    n = e - a
                    s = s.masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1), float("-inf"))
                lse[:, a:e] = torch.logsumexp(s, -1)
                out[a:e] = (torch.softmax(s, -1) @ vb).transpose(0, 1).to(out.dtype) + self.bias
        return kern
import contextlib, functools
m.cute_attn.BatchPrefillWithRaggedKVCacheWrapper = functools.partial(m.cute_attn.BatchPrefillWithRaggedKVCacheWrapper, device="cpu")
torch.cuda.device = lambda d: contextlib.nullcontext()
orig_randn = torch.randn
torch.randn = lambda *a, device=None, **kw: orig_randn(*a, **kw)
for case in ("2x64:64:causal", "1x96:128:full"):
    b, n, hd, c = m.parse_case(case)
    fns, flops, diffs, tile_m = m.setup_case(b, n, hd, c, [FakeBuild("base"), FakeBuild("poly4", 0.001)], torch.bfloat16, False, 2e-2)
    print(case, sorted(fns), flops, {k: round(v, 5) for k, v in diffs.items()}, tile_m)
try:
    m.setup_case(1, 64, 64, True, [FakeBuild("base"), FakeBuild("bad", 0.5)], torch.bfloat16, False, 2e-2)
except AssertionError as e:
    print("caught:", e)
