#!/bin/bash
# Session 6, measurement only: how much does the consumers' generic -> async proxy fence after each gathered K / V
# wait (PipelineGather.consumer_wait, kernels/common/paged_loader.py) cost page 1? Builds, from a copy of COMMIT, the
# hd128 causal gather variant twice: ab/a (as shipped) and ab/nf (the consumers' fence left out: UNSAFE, the wgmma may
# read stale shared memory; timing only, never shipped). Usage: nofence_build.sh COMMIT OUTDIR
set -eu
COMMIT=${1:-HEAD}; OUTDIR=${2:-/tmp/nftree}
rm -rf "$OUTDIR" && mkdir -p "$OUTDIR"
git archive "$COMMIT" cute_attn kernels layouts bench pyproject.toml | tar -x -C "$OUTDIR"
cd "$OUTDIR"
python3 - <<'PY'
p = "kernels/common/paged_loader.py"; s = open(p).read()
s = s.replace("import dataclasses\n", "import dataclasses\nimport os\n", 1)
old = """        super().consumer_wait(state, try_wait_token, loc=loc, ip=ip)
        cute.arch.fence_view_async_shared()
"""
new = """        super().consumer_wait(state, try_wait_token, loc=loc, ip=ip)
        if os.environ.get("CUTE_ATTN_MEASURE_NOFENCE", "0") != "1":  # MEASUREMENT ONLY (unsafe), session 6
            cute.arch.fence_view_async_shared()
"""
assert old in s
open(p, "w").write(s.replace(old, new))
PY
O='prefill_paged_bf16_headdim128_headdimv128_causal_tmaboxrows0*'
PYTHONPATH=$PWD python3 -m cute_attn.build -j 1 --force --keep-ptx --only "$O" --out ab/a
CUTE_ATTN_MEASURE_NOFENCE=1 PYTHONPATH=$PWD python3 -m cute_attn.build -j 1 --force --keep-ptx --only "$O" --out ab/nf
grep -c "fence.proxy.async" ab/a/*.ptx ab/nf/*.ptx   # 7 and 1 at 2cf5b83's successor (the producer's tail fence stays)
