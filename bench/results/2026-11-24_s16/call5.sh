#!/bin/bash
# Session 16 call 5 (device): the final tree (.snap16f; the kernels' PTX identical to session 15's final): every GPU
# test, bench.prefill_paged (issue 5), bench.decode zero + read flush and plan() / run() host time (issue 6), bench.prefill
# (issue 4), one process each.
#   carry [".kit", ".snap16f"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s16/call5.sh
set -u
R=$PWD
cd .snap16f
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
timeout 280 python3 -m pytest -m gpu tests -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
timeout 100 python3 -m bench.prefill_paged --rounds 9 --json "$OUT/r/paged.json" > "$OUT/r/paged.log" 2>&1
log "paged rc=$? $(el)"; grep -E "^\| (prefill|append)" "$OUT/r/paged.log" | tee -a "$OUT/main.log"
timeout 60 python3 - <<'PY' 2>&1 | tee -a "$OUT/main.log"
import time, torch, cute_attn
from bench.decode_host import plan_case
from bench.decode import run_host_time_us
indptr, indices, last, ps = plan_case()
ids = indices[torch.randperm(indices.shape[0])].contiguous()
w = cute_attn.BatchDecodeWithPagedKVCacheWrapper()
for sort in (True, False, True):
    ts = []
    for _ in range(300):
        t = time.perf_counter(); w.plan(indptr, ids, last, 32, 8, 128, ps, sort_pages=sort); ts.append(time.perf_counter() - t)
    torch.cuda.synchronize(); ts.sort()
    print(f"plan() batch 256 sort_pages={sort}: min {ts[0]*1e6:.1f} us, median {ts[len(ts)//2]*1e6:.1f} us")
for i in range(3):
    print(f"run() host time, median of 300: {run_host_time_us():.1f} us")
PY
for f in zero read; do
  timeout 100 python3 -m bench.decode --no-extras --flush $f --json "$OUT/r/decode_$f.json" > "$OUT/r/decode_$f.log" 2>&1
  log "decode $f rc=$? $(el)"; grep -E "^\|" "$OUT/r/decode_$f.log" | tee -a "$OUT/main.log"
done
timeout 150 python3 -m bench.prefill --json "$OUT/r/prefill.json" > "$OUT/r/prefill.log" 2>&1
log "prefill rc=$? $(el)"; grep -E "^\|" "$OUT/r/prefill.log" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call5.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
