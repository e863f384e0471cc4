# Session 6, device call 6: verification of main with the paged kernel's trim + TMA store of O on by default
# (and the decode split test's fix), then every bench. Carry [".kit", ".snap"], timeout 600; from the device copy's root:
#   bash .snap/bench/results/2026-11-23_s6/call6.sh
# Expected ~270 s (call 1 of this session: 262 s).
source .kit/unpack.sh .kit >/dev/null
cd .snap
export PYTHONPATH=$PWD:$PYTHONPATH
nvidia-smi --query-gpu=timestamp,clocks.sm,power.draw,temperature.gpu --format=csv -lms 500 > /tmp/smi.csv 2>/dev/null &
SMI=$!
TEST_TIMEOUT=330 BENCH_TIMEOUT=200 bash bench/gpu_suite.sh all > $OUT/suite.log 2>&1
echo "suite rc=$?"
for i in 1 2 3; do
timeout 60 python3 - <<'PY' 2>&1 | tee -a $OUT/host_times.log
import bench.decode as B
p = B.plan_host_time_us()
r = B.run_host_time_us()
print(f"plan() compiled min/median {p['compiled'][0]:.1f}/{p['compiled'][1]:.1f} us, numpy {p['numpy'][1]:.0f}; run() median {r:.1f} us")
PY
done
kill $SMI; mv /tmp/smi.csv $OUT/
grep -E "passed|failed" $OUT/gpu_tests.log | tail -2
grep -E "^(FAILED|ERROR)" $OUT/gpu_tests.log | head -20
(cd $OUT && tar -cJf /tmp/s6_call6.tar.xz . && find . -type f -delete && mv /tmp/s6_call6.tar.xz . && ls -la)
