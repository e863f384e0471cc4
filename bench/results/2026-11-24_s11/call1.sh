# Session 11 call 1: decode translation prefetch (CUTE_ATTN_DECODE_TLB_PF, NOTES-decode "Session 11"), one-process A/B.
# Carry [".kit", ".ab-s11"]; run from the repo root after `source .kit/unpack.sh .kit >/dev/null`.
set -u
export PYTHONPATH=$PWD:${PYTHONPATH:-}
export CUTE_ATTN_ARTIFACTS=$PWD/.ab-s11/art
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader 2>&1 | tee $OUT/env.txt
T=.ab-s11/tags
# shuffled ids (the bench's default): 3 cases x pages 16 / 1, zero flush, 6 rounds
timeout 150 python3 bench/decode_multi_build.py --builds main=$T tlb1=$T tlbk=$T --cases "64 x 4k" "16 x 16k" "128 x 1k" \
    --pages 16 1 --flush zero --rounds 6 --rep-ms 60 --budget-s 110 --json $OUT/shuf.json > $OUT/shuf.log 2>&1
echo "shuffled rc=$?"
grep -E '"check"|\|' $OUT/shuf.log
# sorted ids (control: little translation work to hide), 3 rounds
timeout 80 python3 bench/decode_multi_build.py --builds main=$T tlb1=$T tlbk=$T --cases "64 x 4k" "16 x 16k" \
    --pages 16 1 --flush zero --rounds 3 --rep-ms 60 --budget-s 50 --page-order sorted --json $OUT/sorted.json > $OUT/sorted.log 2>&1
echo "sorted rc=$?"
grep -E '"check"|\|' $OUT/sorted.log
