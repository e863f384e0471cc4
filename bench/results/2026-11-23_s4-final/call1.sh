# Session 4 final run, call 1 (11:15 UTC device clock), the command as given to the device tool (one line there):
source .kit/unpack.sh .kit >/dev/null && cd .snap && export PYTHONPATH=$PWD:$PYTHONPATH && (nvidia-smi --query-gpu=timestamp,clocks.sm,power.draw,temperature.gpu --format=csv -lms 500 > $OUT/smi.csv 2>/dev/null &) ; TEST_TIMEOUT=250 BENCH_TIMEOUT=200 bash bench/gpu_suite.sh all > $OUT/suite.log 2>&1; echo "suite rc=$?" | tee -a $OUT/suite.log; timeout 110 python3 -m bench.decode --flush read --no-extras --json $OUT/bench_decode_read.json > $OUT/decode_read.log 2>&1; echo "decode read rc=$?"; pkill -f "nvidia-smi --query" ; ...
# It printed "suite rc=0" (pytest's exit status: every selected GPU test passed) and "decode read rc=0"; then
# `pkill -f "nvidia-smi --query"` matched the command's own shell and ended it before the log summary and the tar,
# so gpu_tests.log, suite.log and smi.csv did not come back (the tool returns at most 8 files). call2 re-ran the GPU
# tests with a log: 222 passed.
