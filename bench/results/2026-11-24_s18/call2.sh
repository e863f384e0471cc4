#!/bin/bash
# Session 18 call 2 (device): hd256 causal paged on the dense row's 128 x 64 tile (.snap18b): the paged GPU tests; the
# A/B new x old (.snap18a's 128 x 80 build; old2 identical), pages 1 / 16, paired, two processes; bench.prefill_paged
# --head-dim 256 (x dense, pages 1 / 16 / 64), one process. NOTES-prefill-paged 48 has the prediction.
#   carry [".kit", ".snap18b", ".ab18"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s18/call2.sh
set -u
R=$PWD; SNAP=.snap18b; source bench/call_env.sh
A=$R/.ab18
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 200 python3 -m pytest -m gpu tests/test_gpu_prefill_paged.py -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "paged tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
for p in 1 2; do
  timeout 200 python3 -m bench.prefill_paged_ab --head-dim 256 --rounding --variant old=$A/old --variant old2=$A/old2 \
      --variant new=$PWD/build/artifacts/sm_90a --pages 1,16 --timing paired --rounds 5 --json "$OUT/r/ab_p$p.json" > "$OUT/r/ab_p$p.log" 2>&1
  log "hd256 A/B process $p rc=$? $(el)"; grep -E "^(prefill|append|  page)|Error|error" "$OUT/r/ab_p$p.log" | tee -a "$OUT/main.log"
done
timeout 120 python3 -m bench.prefill_paged --head-dim 256 --rounds 7 --json "$OUT/r/hd256.json" > "$OUT/r/hd256.log" 2>&1
log "hd256 x dense rc=$? $(el)"; grep -E "^\| (case|prefill|append)|kernel|tmabox" "$OUT/r/hd256.log" | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call2.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
