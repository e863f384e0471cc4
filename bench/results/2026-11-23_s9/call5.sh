#!/bin/bash
# Session 9 call 5 (device): the final tree (threshold, hd128 192 x 80 long tile, interleaved paged K/V stages): every GPU
# test, then four bench.prefill processes, two bench.prefill_paged, one bench.decode, the power probe.
#   carry [".kit", ".snap3"]; source .kit/unpack.sh .kit >/dev/null && bash .snap3/bench/results/2026-11-23_s9/call5.sh
set -u
cd "${S:-.snap3}"
export PYTHONPATH=$PWD:$PYTHONPATH PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
timeout 200 python3 -m pytest -m gpu tests -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/gpu_tests.log" 2>&1
log "tests rc=$? $(el)"; tail -2 "$OUT/r/gpu_tests.log" | tee -a "$OUT/main.log"
for i in 1 2 3 4; do
  [ $(( $(date +%s) - T0 )) -gt 430 ] && break
  timeout 120 python3 -m bench.prefill --json "$OUT/r/prefill$i.json" > "$OUT/r/prefill$i.log" 2>&1
  log "prefill $i rc=$? $(el)"; grep -E "^\| (hd|ragged)" "$OUT/r/prefill$i.log" >> "$OUT/main.log"
  if [ $i -le 2 ]; then
    timeout 90 python3 -m bench.prefill_paged --json "$OUT/r/paged$i.json" > "$OUT/r/paged$i.log" 2>&1
    log "paged $i rc=$? $(el)"; grep -E "^\| (prefill|append)" "$OUT/r/paged$i.log" >> "$OUT/main.log"
  fi
done
timeout 90 python3 -m bench.decode --json "$OUT/r/decode.json" > "$OUT/r/decode.log" 2>&1
log "decode rc=$? $(el)"; grep -E "^\| (64|16|128|1 x 32k|8 x 32k) " "$OUT/r/decode.log" >> "$OUT/main.log"
timeout 90 python3 -m bench.power_probe --secs 4 --cases 128:full,128:causal,256:full,256:causal \
  --json "$OUT/r/power.json" > "$OUT/r/power.log" 2>&1
log "power rc=$? $(el)"; grep -E "^\| hd" "$OUT/r/power.log" >> "$OUT/main.log"
tar -cJf "$OUT/call5.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
