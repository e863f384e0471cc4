#!/bin/bash
# Session 14 call 4 (device): where plan()'s batch-256 host time goes in bench.decode's tight loop: one schedule buffer
# set (today) vs two alternating sets (CUTE_ATTN_DECODE_PLAN_BUFFERS=2, cute_attn/decode.py), each timed back to back
# (the bench's loop) and with a device sync before every call (outside the timed span), sort on and off, 3 rounds in
# alternating order; then the decode GPU tests with two sets (the env var at import), and every GPU test of the tree.
#   carry [".kit", ".snap14d"]; source .kit/unpack.sh .kit >/dev/null && bash .snap14d/bench/results/2026-11-24_s14/call4.sh
set -u
cd .snap14d
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
timeout 120 python3 - <<'PY' 2>&1 | tee -a "$OUT/main.log"
import time, torch, cute_attn
import cute_attn.decode as D
from bench.decode_host import plan_case
indptr, indices, last, ps = plan_case()
ids = indices[torch.randperm(indices.shape[0])].contiguous()
ws = {}
for nb in (1, 2):
    D._PLAN_BUFFERS = nb
    ws[nb] = cute_attn.BatchDecodeWithPagedKVCacheWrapper()
    for _ in range(20):
        ws[nb].plan(indptr, ids, last, 32, 8, 128, ps)
torch.cuda.synchronize()
res = {}
cells = [(nb, sync, sort) for nb in (1, 2) for sync in (False, True) for sort in (True, False)]
for rnd in range(3):
    for cell in (cells if rnd % 2 == 0 else cells[::-1]):
        nb, sync, sort = cell
        D._PLAN_BUFFERS = nb
        w = ws[nb]
        ts = []
        for _ in range(300):
            if sync:
                torch.cuda.synchronize()
            t = time.perf_counter(); w.plan(indptr, ids, last, 32, 8, 128, ps, sort_pages=sort); ts.append(time.perf_counter() - t)
        torch.cuda.synchronize(); ts.sort()
        res.setdefault(cell, []).append((ts[0] * 1e6, ts[len(ts) // 2] * 1e6, ts[int(len(ts) * 0.9)] * 1e6))
for (nb, sync, sort), v in res.items():
    print(f"plan() batch 256 buffers={nb} {'synced' if sync else 'tight '} sort={sort!s:5}: "
          + "  ".join(f"min {a:.1f} med {b:.1f} p90 {c:.1f}" for a, b, c in v))
PY
log "host times $(el)"
CUTE_ATTN_DECODE_PLAN_BUFFERS=2 timeout 150 python3 -m pytest -m gpu tests/test_gpu_decode.py -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/tests_pb2.log" 2>&1
log "decode tests, two buffer sets: rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests_pb2.log" | tail -6 | tee -a "$OUT/main.log"
timeout 200 python3 -m pytest -m gpu tests -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "all tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -6 | tee -a "$OUT/main.log"
tar -cJf "$OUT/call4.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
