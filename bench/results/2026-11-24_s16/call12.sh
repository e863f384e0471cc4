#!/bin/bash
# Session 16 call 12 (device): a second process of the issue benches on the final kernels (.snap16f): bench.prefill_paged,
# bench.decode zero + read flush; thermal counters logged before and after (call 7 ran throttled).
#   carry [".kit", ".snap16f"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s16/call12.sh
set -u
R=$PWD; SNAP=.snap16f; source bench/call_env.sh
thr() { nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown|Power Capping" | grep " us" | tr -s ' ' | tee -a "$OUT/main.log"; }
thr
timeout 100 python3 -m bench.prefill_paged --rounds 9 --json "$OUT/r/paged.json" > "$OUT/r/paged.log" 2>&1
log "paged rc=$? $(el)"; grep -E "^\| (prefill|append)" "$OUT/r/paged.log" | tee -a "$OUT/main.log"
thr
for f in zero read; do
  timeout 120 python3 -m bench.decode --no-extras --flush $f --json "$OUT/r/decode_$f.json" > "$OUT/r/decode_$f.log" 2>&1
  log "decode $f rc=$? $(el)"; grep -E "^\|" "$OUT/r/decode_$f.log" | tee -a "$OUT/main.log"
  thr
done
tar -cJf "$OUT/call12.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
