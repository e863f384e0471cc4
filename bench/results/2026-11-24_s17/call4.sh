#!/bin/bash
# Session 17 call 4 (device): every paged GPU test on the snapshot built with CUTE_ATTN_PAGED_CHUNK_SPLIT=1 and
# CUTE_ATTN_PAGED_CHUNK_NEST=1 (.snap17f); then the tree (41's chunked ids), an identical copy, nest, split and
# split + nest (spn), pages 1 (same code), 16, 64, paired, two processes (NOTES-prefill-paged 42).
#   carry [".kit", ".snap17f", ".ab17b"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s17/call4.sh
set -u
R=$PWD; SNAP=.snap17f; source bench/call_env.sh
A=$R/.ab17b
timeout 200 python3 -m pytest -m gpu tests/test_gpu_prefill_paged.py -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "paged tests (split + nest build) rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
for p in 1 2; do
  timeout 200 python3 -m bench.prefill_paged_ab --variant base=$A/base --variant base2=$A/base2 --variant nest=$A/nest --variant split=$A/split --variant spn=$A/spn \
      --pages 1,16,64 --timing paired --rounds 5 --json "$OUT/r/ch_p$p.json" > "$OUT/r/ch_p$p.log" 2>&1
  log "chunk paired process $p rc=$? $(el)"; grep -E "^(prefill|append|  page)|Error|error" "$OUT/r/ch_p$p.log" | tee -a "$OUT/main.log"
done
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call4.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
