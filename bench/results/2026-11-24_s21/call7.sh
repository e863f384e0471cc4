#!/bin/bash
# Session 21 call 7 (device): bench.decode_sort_cost on the shipped sort with the GEMM-before timing (.snap21g).
#   carry [".kit", ".snap21g"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s21/call7.sh
set -u
R=$PWD; SNAP=.snap21g; source bench/call_env.sh
timeout 120 python3 -m bench.decode_sort_cost --json "$OUT/r/sort_cost.json" > "$OUT/r/sort_cost.log" 2>&1
log "sort cost rc=$? $(el)"; grep -E "^\||Error|error" "$OUT/r/sort_cost.log" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call7.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
