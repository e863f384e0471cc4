#!/bin/bash
# Session 7 call 5: the final tree (.snap = HEAD with the decode next-item transition and the paged double-buffered P;
# bench/ files of the paired-timing commit copied in): all GPU tests + every bench (paired timing, the new default),
# then prefill and paged prefill again: once with --timing rounds (the old method) and once more paired, for the
# spread of each method. Carry [".kit", ".snap"]; run from the device copy's root:
#   source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-23_s7/call5.sh
set -u
cd .snap || exit 1
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
T0=$(date +%s)
el() { echo $(( $(date +%s) - T0 )); }
W=/tmp/c5 && rm -rf $W && mkdir -p $W
OUT_FINAL=$OUT
OUT=$W/suite PACK=0 timeout 360 bash bench/gpu_suite.sh all > $W/suite_stdout.txt 2>&1
echo "suite rc=$? $(el)s" | tee -a $W/summary.txt
grep -E "passed|failed" $W/suite/gpu_tests.log | tail -2 | tee -a $W/summary.txt
for what in "prefill --timing rounds" "prefill --timing paired" "prefill_paged --timing rounds" "prefill_paged --timing paired"; do
  if [ "$(el)" -gt 470 ]; then echo "skipped $what at $(el)s" | tee -a $W/summary.txt; continue; fi
  set -- $what
  timeout 100 python3 -m bench.$1 $2 $3 --json $W/extra_$1_$3.json > $W/extra_$1_$3.log 2>&1
  echo "$what rc=$? $(el)s" | tee -a $W/summary.txt
done
(cd $W && tar -cJf /tmp/c5.tar.xz .) && mv /tmp/c5.tar.xz $OUT_FINAL/ && cp $W/summary.txt $W/suite_stdout.txt $OUT_FINAL/
grep -E "^\| (hd|prefill|append|case|64 x|16 x|128 x|1 x 32k|8 x 32k)" $W/suite_stdout.txt | head -60
for f in $W/extra_*.log; do echo "== $f"; grep -E "^\| (hd128|hd256|hd64 causal \| 16|prefill|append)" $f; done
cat $W/summary.txt
