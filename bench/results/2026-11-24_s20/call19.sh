#!/bin/bash
# Session 20 call 19 (device): the fuzz file after its graph-run helper (.snap20n), default seed and seed 21.
#   carry [".kit", ".snap20n"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s20/call19.sh
set -u
R=$PWD; SNAP=.snap20n; source bench/call_env.sh
for s in default 21; do
    if [ $s = default ]; then unset CUTE_ATTN_FUZZ_SEED; else export CUTE_ATTN_FUZZ_SEED=$s; fi
    timeout 150 python3 -m pytest -m gpu tests/test_gpu_fuzz.py -q -rs --timeout=140 -p no:cacheprovider \
        > "$OUT/r/fuzz_$s.log" 2>&1
    log "fuzz seed $s rc=$? $(el)"; grep -E "passed|failed|^FAILED|^ERROR|^E " "$OUT/r/fuzz_$s.log" | tail -8 | tee -a "$OUT/main.log"
done
tar -cJf "$OUT/call19.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
