#!/bin/bash
# Session 18 call 6 (device): the final tree (.snap18e): every GPU test; bench.prefill_paged (issue 5: hd128 causal,
# rounds timing, 9 rounds) in two processes; --head-dim 64 and 256 (x dense) in one each; bench.decode (issue 6, decode
# kernels unchanged since session 17) with the zero and the read flush.
#   carry [".kit", ".snap18e"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s18/call6.sh
set -u
R=$PWD; SNAP=.snap18e; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
timeout 300 python3 -m pytest -m gpu tests -q -rs --timeout=120 -p no:cacheprovider > "$OUT/r/tests.log" 2>&1
log "tests rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR" "$OUT/r/tests.log" | tail -12 | tee -a "$OUT/main.log"
for p in 1 2; do
  timeout 120 python3 -m bench.prefill_paged --rounds 9 --json "$OUT/r/paged_p$p.json" > "$OUT/r/paged_p$p.log" 2>&1
  log "paged process $p rc=$? $(el)"; grep -E "^\| (case|prefill|append)|Error" "$OUT/r/paged_p$p.log" | tee -a "$OUT/main.log"
done
for d in 64 256; do
  timeout 120 python3 -m bench.prefill_paged --head-dim $d --rounds 7 --json "$OUT/r/paged_hd$d.json" > "$OUT/r/paged_hd$d.log" 2>&1
  log "paged hd$d rc=$? $(el)"; grep -E "^\| (case|prefill|append)|Error" "$OUT/r/paged_hd$d.log" | tee -a "$OUT/main.log"
done
for f in zero read; do
  timeout 150 python3 -m bench.decode --no-extras --flush $f --json "$OUT/r/decode_$f.json" > "$OUT/r/decode_$f.log" 2>&1
  log "decode $f rc=$? $(el)"; grep -E "^\||plan\(\)|run\(\)" "$OUT/r/decode_$f.log" | tee -a "$OUT/main.log"
done
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call6.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
