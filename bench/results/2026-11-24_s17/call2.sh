#!/bin/bash
# Session 17 call 2 (device): every paged GPU test on the snapshot built with CUTE_ATTN_PAGED_BOX_CHUNK=2 (.snap17d,
# with call 1's fix: no page-id load for a tile without keys); then the tree, an identical copy, chunk (=1: page ids per
# chunk of blocks) and chunk2 (=2: also the boxes at runtime stage offsets, no per-box warp tests), pages 1 (same code),
# 16, 64, paired, two processes (NOTES-prefill-paged 41).
#   carry [".kit", ".snap17d", ".ab17"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s17/call2.sh
set -u
R=$PWD; SNAP=.snap17d; source bench/call_env.sh
A=$R/.ab17
timeout 200 python3 -m pytest -m gpu tests/test_gpu_prefill_paged.py -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "paged tests (chunk build) rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
for p in 1 2; do
  timeout 200 python3 -m bench.prefill_paged_ab --variant base=$A/base --variant base2=$A/base2 --variant chunk=$A/ch1 --variant chunk2=$A/ch2 \
      --pages 1,16,64 --timing paired --rounds 5 --json "$OUT/r/ch_p$p.json" > "$OUT/r/ch_p$p.log" 2>&1
  log "chunk paired process $p rc=$? $(el)"; grep -E "^(prefill|append|  page)|Error|error" "$OUT/r/ch_p$p.log" | tee -a "$OUT/main.log"
done
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call2.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
