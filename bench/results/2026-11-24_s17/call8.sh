#!/bin/bash
# Session 17 call 8 (device): every paged GPU test on the tree with the chunked ids for uneven box counts (.snap17h);
# then hd256 paged A/B (old = before, old2 identical, new), pages 1 / 16 / 64, paired: full mask two processes, causal
# one (NOTES-prefill-paged 44).
#   carry [".kit", ".snap17h", ".ab17c"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s17/call8.sh
set -u
R=$PWD; SNAP=.snap17h; source bench/call_env.sh
A=$R/.ab17c
timeout 200 python3 -m pytest -m gpu tests/test_gpu_prefill_paged.py -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "paged tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
for m in full:1 full:2 causal:1; do
  mask=${m%%:*}; p=${m#*:}
  timeout 200 python3 -m bench.prefill_paged_ab --head-dim 256 --mask $mask --variant old=$A/old --variant old2=$A/old2 \
      --variant new=$A/new --pages 1,16,64 --timing paired --rounds 5 --json "$OUT/r/h256_${mask}_p$p.json" > "$OUT/r/h256_${mask}_p$p.log" 2>&1
  log "hd256 $mask process $p rc=$? $(el)"; grep -E "^(prefill|append|  page)|Error|error" "$OUT/r/h256_${mask}_p$p.log" | tee -a "$OUT/main.log"
done
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call8.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
