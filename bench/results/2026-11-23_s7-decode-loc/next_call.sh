# Session 7 decode-loc: why shuffled page ids are slower (issue 6; bench/NOTES-decode.md "Session 7 (decode-loc)").
# NOT RUN on this CPU box. Carry [".kit", ".snap-s7-decode-loc"], timeout_s 120, kind nvidia-h100-x1 (call 9's figures):
#   source .kit/unpack.sh .kit >/dev/null && bash .snap-s7-decode-loc/bench/results/2026-11-23_s7-decode-loc/next_call.sh
# Snapshot (built on the CPU box from branch s7-decode-loc, 2.7 MB): bash bench/results/2026-11-23_s7-decode-loc/build_snapshot.sh
#   (the tree less the other bench/results dirs; build/artifacts/sm_90a = the 6 decode variants + the compiled planner,
#   all part 1 needs; build/next/sm_90a + build/ab for part 2)
# Expected: ~60-70 s of python (400 timings of ~48 ms, 8 case-repeats of ~2 s set-up, ~15 s start-up), ~75 s with the
# kit unpack; --budget-s 60 starts no case after 60 s and the timeout ends it at 100 s whatever happens.
# Part 2 (optional, CUTE_ATTN_DECODE_NEXT_ITEM: GPU tests on its build, then the main / next A/B; ab.sh):
#   `bash .../next_call.sh ab` (~100 s, timeout_s 150) or `... next_call.sh all` (both parts, ~185 s, timeout_s 240).
set -u
PART=${1:-loc}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)   # the snapshot root
cd "$HERE"
export PYTHONPATH=$HERE:${PYTHONPATH:-}
export CUTE_ATTN_ARTIFACTS=$HERE/build/artifacts/sm_90a
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader 2>&1 | tee $OUT/env.txt
if [ "$PART" = loc ] || [ "$PART" = all ]; then
  # one process: per case x page size one 2 MiB-aligned cache, 7 placements (+ head-minor labels at 64 x 4k page 1,
  # + index_select gathers for 4 placements) and cuDNN interleaved, 4 rounds, two repeats with fresh tables
  timeout 100 python3 -m bench.decode_locality --cases "64 x 4k" "16 x 16k" --pages 16 1 --head-minor \
      --gather sorted local:2M blocks:256K shuffled --repeats 2 --rounds 4 --rep-ms 30 --budget-s 60 \
      --json $OUT/loc.json > $OUT/loc.log 2>&1
  echo "decode_locality rc=$?"
  grep -E '^\||x sorted =|"elapsed_s"|"stopped_before"|copy_GBs|Error|error' $OUT/loc.log | grep -v '"repeat"'
fi
if [ "$PART" = ab ] || [ "$PART" = all ]; then
  if [ -f "$HERE/bench/results/2026-11-23_s7-decode-loc/ab.sh" ]; then
    bash "$HERE/bench/results/2026-11-23_s7-decode-loc/ab.sh"
  else
    echo "no ab.sh in this snapshot"
  fi
fi
(cd $OUT && tar -cJf /tmp/s7_decode_loc.tar.xz . && find . -type f ! -name env.txt -delete && mv /tmp/s7_decode_loc.tar.xz .)
ls -la $OUT
