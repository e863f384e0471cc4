#!/bin/bash
# Session 17 call 6 (device): the tree with the leaner sort path (.snap17g): every GPU test; plan() / run() host time
# against call 3's tree in the same process (bench.decode_host --ref), three processes; bench.decode zero + read flush
# (issue 6's figures, with plan() / run() lines).
#   carry [".kit", ".snap17g", ".snap17e"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s17/call6.sh
set -u
R=$PWD; SNAP=.snap17g; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 280 python3 -m pytest -m gpu tests -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
for p in 1 2 3; do
  timeout 100 python3 -m bench.decode_host --device cuda --reps 1000 --rounds 4 --ref $R/.snap17e > "$OUT/r/host_p$p.log" 2>&1
  log "decode_host process $p rc=$? $(el)"; grep -E "^(ref: )?(plan|run)" "$OUT/r/host_p$p.log" | tee -a "$OUT/main.log"
done
for f in zero read; do
  timeout 150 python3 -m bench.decode --no-extras --flush $f --json "$OUT/r/decode_$f.json" > "$OUT/r/decode_$f.log" 2>&1
  log "decode $f rc=$? $(el)"; grep -E "^\||plan\(\)|run\(\)" "$OUT/r/decode_$f.log" | tee -a "$OUT/main.log"
done
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call6.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
