#!/bin/bash
# Session 19 call 4 (device): bench/decode_multi_build.py tbv / tbv2 (control) / w16 tagged kernels (.ab19c), one-item and
# multi-item plans; then bench.decode zero and read flush on the tbv tree (.snap19d), issue 6's figures.
#   carry [".kit", ".snap19d", ".ab19c"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s19/call4.sh
set -u
R=$PWD; SNAP=.snap19d; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 150 python3 bench/decode_multi_build.py --builds tbv3=$R/.ab19c tbv23=$R/.ab19c w163=$R/.ab19c \
    --cases "1 x 32k" "8 x 32k" "16 x 16k" --pages 16 1 --flush zero read --rounds 6 --json "$OUT/r/multi1.json" \
    > "$OUT/r/multi1.log" 2>&1
log "multi one-item rc=$? $(el)"; grep -vE "^\{\"round" "$OUT/r/multi1.log" | tail -24 | tee -a "$OUT/main.log"
timeout 200 python3 bench/decode_multi_build.py --builds tbv=$R/.ab19c tbv2=$R/.ab19c w16=$R/.ab19c \
    --cases "skewed 1 x 32k + 63 x 512" "128 x 1k" "64 x 4k" --pages 16 1 --flush zero read --rounds 4 \
    --json "$OUT/r/multi2.json" > "$OUT/r/multi2.log" 2>&1
log "multi multi-item rc=$? $(el)"; grep -vE "^\{\"round" "$OUT/r/multi2.log" | tail -24 | tee -a "$OUT/main.log"
for f in zero read; do
  timeout 150 python3 -m bench.decode --no-extras --flush $f --json "$OUT/r/decode_$f.json" > "$OUT/r/decode_$f.log" 2>&1
  log "decode $f rc=$? $(el)"; grep -E "^\|" "$OUT/r/decode_$f.log" | tee -a "$OUT/main.log"
done
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call4.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
