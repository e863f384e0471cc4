#!/bin/bash
# Session 14 call 10 (device): the tree with the 16-CTA cluster merge (.snap14h, full build): every GPU test; then
# decode_multi_build on 1 x 32k: main (4 stages) / s3 (3 stages, global merge) / c16 (3 stages, cluster merge), all on
# the plan plan() makes, 8 rounds; then bench.decode zero + read flush in two processes (plan() picks c16 for 1 x 32k).
#   carry [".kit", ".snap14h", ".ab14c"]; source .kit/unpack.sh .kit >/dev/null && bash .snap14h/bench/results/2026-11-24_s14/call10.sh
set -u
AB=$PWD/.ab14c
cd .snap14h
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
timeout 150 python3 -m pytest -m gpu tests/test_gpu_decode.py -q -rs --timeout=120 -p no:cacheprovider -x > "$OUT/r/tests_decode.log" 2>&1
log "decode tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR|^E " "$OUT/r/tests_decode.log" | tail -12 | tee -a "$OUT/main.log"
timeout 120 python3 bench/decode_multi_build.py --builds main=$AB/main s3=$AB/s3 c16=$AB/c16 \
    --cases "1 x 32k" --pages 16 1 --flush zero read --rounds 8 --rep-ms 60 --budget-s 90 \
    --json "$OUT/r/ab.json" > "$OUT/r/ab.log" 2>&1
log "ab rc=$? $(el)"; grep -E '"check"' "$OUT/r/ab.log" | tee -a "$OUT/main.log"; grep -vE "^\{" "$OUT/r/ab.log" | tail -8 | tee -a "$OUT/main.log"
for p in 1 2; do
  for f in zero read; do
    timeout 100 python3 -m bench.decode --no-extras --flush $f --json "$OUT/r/decode_${f}_$p.json" > "$OUT/r/decode_${f}_$p.log" 2>&1
    log "decode $f process $p rc=$? $(el)"; grep -E "^\|" "$OUT/r/decode_${f}_$p.log" | tee -a "$OUT/main.log"
  done
done
timeout 200 python3 -m pytest -m gpu tests -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "all tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -8 | tee -a "$OUT/main.log"
tar -cJf "$OUT/call10.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
