#!/bin/bash
# Session 28 call 1 (device): bench.decode_start_probe (1 x 32k's cold start: the plan's buffers / the kernel's code
# warmed after the read flush, outside the events; upper bounds, kernel unchanged), then bench.decode eager (read flush;
# issue 6's table) and bench.prefill_paged (issue 5's) in fresh processes.
#   carry [".kit", ".snap28a"]; source .kit/unpack.sh .kit >/dev/null && bash .snap28a/bench/results/2026-11-25_s28/call1.sh
set -u
R=$PWD; SNAP=.snap28a; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 120 python3 -m bench.decode_start_probe --pages 16 1 --rounds 10 --calls 60 --json "$OUT/r/probe.json" > "$OUT/r/probe.txt" 2>&1
log "probe rc=$? $(el)"; tail -12 "$OUT/r/probe.txt" | tee -a "$OUT/main.log"
timeout 80 python3 -m bench.decode --no-extras --flush read --json "$OUT/r/decode_read.json" > "$OUT/r/decode_read.txt" 2>&1
log "decode read rc=$? $(el)"; grep -E "^\|" "$OUT/r/decode_read.txt" | tail -14 | tee -a "$OUT/main.log"
timeout 60 python3 -m bench.prefill_paged --json "$OUT/r/prefill_paged.json" > "$OUT/r/prefill_paged.txt" 2>&1
log "prefill_paged rc=$? $(el)"; grep -E "^\|" "$OUT/r/prefill_paged.txt" | tail -12 | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
