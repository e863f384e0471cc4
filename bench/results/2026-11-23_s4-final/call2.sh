# Session 4 final verification call (device): GPU tests, decode bench (host times too), paged and prefill benches
# with 5 rounds. Run from the repo root of the device copy: bash .snap/bench/results/...: the snapshot has no results,
# so the command line in RESULTS.md holds this script's text.
source .kit/unpack.sh .kit >/dev/null
cd .snap
export PYTHONPATH=$PWD:$PYTHONPATH
nvidia-smi --query-gpu=timestamp,clocks.sm,power.draw,temperature.gpu --format=csv -lms 500 > $OUT/smi.csv 2>/dev/null &
SMI=$!
TEST_TIMEOUT=250 BENCH_TIMEOUT=200 BENCHES="decode" bash bench/gpu_suite.sh all > $OUT/suite.log 2>&1
echo "suite rc=$?"
timeout 150 python3 -m bench.prefill_paged --rounds 5 --json $OUT/bench_prefill_paged_r5.json > $OUT/paged_r5.log 2>&1
echo "paged rc=$?"
timeout 200 python3 -m bench.prefill --rounds 5 --json $OUT/bench_prefill_r5.json > $OUT/prefill_r5.log 2>&1
echo "prefill rc=$?"
kill $SMI
grep -E "passed|failed" $OUT/gpu_tests.log | tail -2
grep -E "plan\(\)|run\(\)" $OUT/suite.log | tail -3
cd $OUT && tar -cJf s4_call2.tar.xz *.json *.log *.csv *.txt && rm -f *.json *.log *.csv *.txt
ls -la
