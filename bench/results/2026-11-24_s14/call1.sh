#!/bin/bash
# Session 14 call 1 (device): the tree as a whole on 3382a98 (every GPU test), the paged producers' hoisted
# kv_indptr[b] (NOTES-prefill-paged 24) against the session-13 build (.snap10, af8531c: same paged kernel source as
# 7b59ed4) in three bench.prefill_paged_ab processes, bench.prefill_paged (issue 5's table), plan() / run() host time
# and bench.decode zero + read flush (issue 6's table).
#   carry [".kit", ".snap14", ".snap10"]; source .kit/unpack.sh .kit >/dev/null && bash .snap14/bench/results/2026-11-24_s14/call1.sh
set -u
R=$PWD
cd .snap14
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
timeout 200 python3 -m pytest -m gpu tests -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -8 | tee -a "$OUT/main.log"
for p in 1 2 3; do
  timeout 100 python3 -m bench.prefill_paged_ab --variant old=$R/.snap10/build/artifacts/sm_90a \
      --variant new=$PWD/build/artifacts/sm_90a --rounds 7 --json "$OUT/r/ab_p$p.json" > "$OUT/r/ab_p$p.log" 2>&1
  log "ab process $p rc=$? $(el)"; grep -vE '^\{' "$OUT/r/ab_p$p.log" | grep -E "^  page|dense" | tee -a "$OUT/main.log"
done
timeout 90 python3 -m bench.prefill_paged --rounds 9 --json "$OUT/r/paged.json" > "$OUT/r/paged.log" 2>&1
log "paged rc=$? $(el)"; grep -E "^\| (prefill|append)" "$OUT/r/paged.log" | tee -a "$OUT/main.log"
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
tar -cJf "$OUT/call1.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
