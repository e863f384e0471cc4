#!/bin/bash
# Session 13 call 1 (device): the tree as a whole (every GPU test), plan()'s host time with the indptr in the
# schedule's one copy (sort / no sort, batch 256) and run()'s, bench.decode (zero and read flush), bench.prefill
# (issue 4's targets again), bench.prefill_paged.
#   carry [".kit", ".snap1"]; source .kit/unpack.sh .kit >/dev/null && S=.snap1 bash bench/results/2026-11-24_s13/call1.sh
set -u
cd "${S:-.snap1}"
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
log "planner: $(python3 -c "import importlib; print(importlib.import_module('cute_attn.prefill').planner())" 2>&1 | tail -1)"
timeout 240 python3 -m pytest -m gpu tests -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
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
for f in zero read; do
  timeout 100 python3 -m bench.decode --no-extras --flush $f --json "$OUT/r/decode_$f.json" > "$OUT/r/decode_$f.log" 2>&1
  log "decode $f rc=$? $(el)"; grep -E "^\|" "$OUT/r/decode_$f.log" | tee -a "$OUT/main.log"
done
timeout 130 python3 -m bench.prefill --json "$OUT/r/prefill.json" > "$OUT/r/prefill.log" 2>&1
log "prefill rc=$? $(el)"; grep -E "^\| (hd|ragged)" "$OUT/r/prefill.log" >> "$OUT/main.log"
timeout 110 python3 -m bench.prefill_paged --rounds 9 --json "$OUT/r/paged1.json" > "$OUT/r/paged1.log" 2>&1
log "paged 1 rc=$? $(el)"; grep -E "^\| (prefill|append)" "$OUT/r/paged1.log" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call1.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
