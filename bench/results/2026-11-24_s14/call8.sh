#!/bin/bash
# Session 14 call 8 (device): the final tree (.snap14g, with the 3-stage one-item decode variant) as a whole: every GPU
# test, plan() / run() host time, bench.decode zero + read flush in two processes, bench.prefill_paged.
#   carry [".kit", ".snap14g"]; source .kit/unpack.sh .kit >/dev/null && bash .snap14g/bench/results/2026-11-24_s14/call8.sh
set -u
cd .snap14g
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
timeout 200 python3 -m pytest -m gpu tests -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -8 | tee -a "$OUT/main.log"
timeout 60 python3 - <<'PY' 2>&1 | tee -a "$OUT/main.log"
import time, torch, cute_attn
from bench.decode_host import plan_case
from bench.decode import run_host_time_us
indptr, indices, last, ps = plan_case()
ids = indices[torch.randperm(indices.shape[0])].contiguous()
w = cute_attn.BatchDecodeWithPagedKVCacheWrapper()
for sort in (True, False, True, False):
    ts = []
    for _ in range(300):
        t = time.perf_counter(); w.plan(indptr, ids, last, 32, 8, 128, ps, sort_pages=sort); ts.append(time.perf_counter() - t)
    torch.cuda.synchronize(); ts.sort()
    print(f"plan() batch 256 sort_pages={sort}: min {ts[0]*1e6:.1f} us, median {ts[len(ts)//2]*1e6:.1f} us")
for i in range(3):
    print(f"run() host time, median of 300: {run_host_time_us():.1f} us")
PY
for p in 1 2; do
  for f in zero read; do
    timeout 100 python3 -m bench.decode --no-extras --flush $f --json "$OUT/r/decode_${f}_$p.json" > "$OUT/r/decode_${f}_$p.log" 2>&1
    log "decode $f process $p rc=$? $(el)"; grep -E "^\|" "$OUT/r/decode_${f}_$p.log" | tee -a "$OUT/main.log"
  done
done
timeout 90 python3 -m bench.prefill_paged --rounds 9 --json "$OUT/r/paged.json" > "$OUT/r/paged.log" 2>&1
log "paged rc=$? $(el)"; grep -E "^\| (prefill|append)" "$OUT/r/paged.log" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call8.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
