# CPU dry run of next_call.sh's A/B (no GPU): (1) bench.prefill_dense_ab.setup_case with stand-in kernels (torch,
# float32) instead of the artifacts: plan, per-build dispatch, output checks (a wrong build is caught); (2) the
# variant each A/B case's plan picks, looked up in every artifact directory of the snapshot.
#   cd SNAPSHOT && PYTHONPATH=$PWD python3 bench/results/2026-11-23_s7-q-rs/cpu_dryrun.py
import contextlib, functools, os
import torch
import bench.prefill_dense_ab as m
from cute_attn.artifacts import Manifest

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


Wrapper = m.cute_attn.BatchPrefillWithRaggedKVCacheWrapper
m.cute_attn.BatchPrefillWithRaggedKVCacheWrapper = functools.partial(Wrapper, device="cpu")
torch.cuda.device = lambda d: contextlib.nullcontext()
orig_randn = torch.randn
torch.randn = lambda *a, device=None, **kw: orig_randn(*a, **kw)
builds = [FakeBuild("base"), FakeBuild("qrs", 0.001), FakeBuild("ctl"), FakeBuild("half", 0.002)]
for case in ("2x64:64:causal", "1x96:128:full", "1x80:128:causal"):
    b, n, hd, c = m.parse_case(case)
    fns, flops, diffs, tile_m = m.setup_case(b, n, hd, c, builds, torch.bfloat16, False, 2e-2)
    print(case, sorted(fns), flops, {k: round(v, 5) for k, v in diffs.items()}, tile_m)
try:
    m.setup_case(1, 64, 64, True, [FakeBuild("base"), FakeBuild("bad", 0.5)], torch.bfloat16, False, 2e-2)
except AssertionError as e:
    print("caught:", e)

cases = "1x16384:128:causal,1x16384:128:full,4x4096:128:causal,16x1024:64:causal,1x16384:64:full"
dirs = {"base": "ab/base", "qrs": "build/qrs", "ctl": "ab/ctl", "half": "ab/half"}
for case in cases.split(","):
    b, n, hd, c = m.parse_case(case)
    w = m.cute_attn.BatchPrefillWithRaggedKVCacheWrapper()
    indptr = list(range(0, b * n + 1, n))
    w.plan(indptr, indptr, 2048 // hd, 2048 // hd, hd, causal=c, q_data_type=torch.bfloat16)
    spec = w._plan.spec
    have = {k: spec.name in Manifest.read(d, spec.arch).entries for k, d in dirs.items() if os.path.isdir(d)}
    print(case, spec.name, have)
    assert have and all(have.values()), (case, spec.name, have)
