# Session 5 -> next session, device call 1 (NOT RUN in session 5: no device was lent). Verification of main as merged
# in session 5 (audit: +50 GPU tests never run; decode-host: plan()/run() host code; paged-k3: the K/V stage split,
# PTX-identical with its switches off) and the full benches. Carry [".kit", ".snap"], timeout 600; from the device
# copy's root:  bash .snap/bench/results/2026-11-23_s5/call1.sh   (the snapshot keeps this folder: see build_all.sh)
# Expected: tests ~150-200 s (272 GPU tests), benches ~200 s, host times ~30 s: ~400-450 s.
source .kit/unpack.sh .kit >/dev/null
cd .snap
export PYTHONPATH=$PWD:$PYTHONPATH
nvidia-smi --query-gpu=timestamp,clocks.sm,power.draw,temperature.gpu --format=csv -lms 500 > $OUT/smi.csv 2>/dev/null &
SMI=$!
# tests first (the new ones are in the same files: a failure there shows in gpu_tests.log), then every bench
TEST_TIMEOUT=330 BENCH_TIMEOUT=200 bash bench/gpu_suite.sh all > $OUT/suite.log 2>&1
echo "suite rc=$?"
# plan() / run() host times, three times (the host's speed moves them by up to 1.6x between processes)
for i in 1 2 3; do
timeout 60 python3 - <<'PY' 2>&1 | tee -a $OUT/host_times.log
import bench.decode as B
p = B.plan_host_time_us()
r = B.run_host_time_us()
print(f"plan() compiled min/median {p['compiled'][0]:.1f}/{p['compiled'][1]:.1f} us, numpy {p['numpy'][1]:.0f}; run() median {r:.1f} us")
PY
done
kill $SMI
grep -E "passed|failed" $OUT/gpu_tests.log | tail -2
cd $OUT && tar -cJf s5_call1.tar.xz --exclude s5_call1.tar.xz . && find . -type f ! -name s5_call1.tar.xz -delete
ls -la
