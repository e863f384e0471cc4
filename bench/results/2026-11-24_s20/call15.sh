#!/bin/bash
# Session 20 call 15 (device): the fuzz file after its refactor (one case runner), at the default seed and seed 21 (.snap20l).
#   carry [".kit", ".snap20l"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s20/call15.sh
set -u
R=$PWD; SNAP=.snap20l; source bench/call_env.sh
for s in default 21; do
    if [ $s = default ]; then unset CUTE_ATTN_FUZZ_SEED; else export CUTE_ATTN_FUZZ_SEED=$s; fi
    timeout 150 python3 -m pytest -m gpu tests/test_gpu_fuzz.py -q -rs --timeout=140 -p no:cacheprovider \
        > "$OUT/r/fuzz_$s.log" 2>&1
    log "fuzz seed $s rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR|^E " "$OUT/r/fuzz_$s.log" | tail -8 | tee -a "$OUT/main.log"
done
tar -cJf "$OUT/call15.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
