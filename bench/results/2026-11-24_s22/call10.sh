#!/bin/bash
# Session 22 call 10 (device): CUTE_ATTN_PAGED_OFF_LATE: bench.prefill_paged_ab page 1, main / ol / main2 (hd128 causal
# tmaboxrows0 variants of this tree, .abpp/<name>), 9 rounds.
#   carry [".kit", ".snap22j", ".abpp"]; source .kit/unpack.sh .kit >/dev/null && bash .snap22j/bench/results/2026-11-24_s22/call10.sh
set -u
R=$PWD; SNAP=.snap22j; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 200 python3 -m bench.prefill_paged_ab --variant main=$R/.abpp/main --variant ol=$R/.abpp/ol \
    --variant main2=$R/.abpp/main2 --pages 1 --rounds 9 --json "$OUT/r/ab.json" > "$OUT/r/ab.log" 2>&1
log "paged ab rc=$? $(el)"; grep -E "^\||check|equal|Error|error" "$OUT/r/ab.log" | tail -20 | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "total $(el)"
