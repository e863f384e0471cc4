# Session 5 decode-host: next device call (NOT RUN: no device was lent in session 5).
# Carry [".kit", ".snap-decode-host"]; run from the repo root of the device copy:
#   bash .snap-decode-host/bench/results/2026-11-23_s5-decode-host/next_call.sh
# Snapshot (built on the CPU box, ~3 min of 1 core, ~4 MB; see NOTES-decode.md "Session 5 (decode-host, CPU only)"):
#   S=/work/main/.snap-decode-host; git -C /work/wt-decode-host archive decode-host | tar -x -C $S
#   git -C /work/wt-decode-host archive eb86397 cute_attn kernels layouts | tar -x -C $S/ref   # main before, for --ref
#   cd $S && python3 -m cute_attn.build -j 1 --only 'decode_*'                                   # default ABI + planner
#   CUTE_ATTN_DECODE_PTR_ARGS=1 python3 -m cute_attn.build -j 1 --only 'decode_*' --out build/ptr/sm_90a
#   PYTHONPATH=$S python3 bench/decode_build_tagged.py tensor build/tagged
#   CUTE_ATTN_DECODE_PTR_ARGS=1 PYTHONPATH=$S python3 bench/decode_build_tagged.py ptr build/tagged
#   PYTHONPATH=$S python3 -m bench.decode_ffi_cost --build build/ffi
#   (cd ref && PYTHONPATH=$S/ref python3 -m cute_attn.build --only no-kernel)                   # its planner only
# Expected device time: ~4 min (tests 2 x ~35 s, host benches 6 x ~15 s, FFI ~10 s, start-up).
set -u
source .kit/unpack.sh .kit >/dev/null
cd .snap-decode-host
export PYTHONPATH=$PWD:$PYTHONPATH
ART=$PWD/build/artifacts/sm_90a   # default launch ABI (main's) + the planner of this branch
PTR=$PWD/build/ptr/sm_90a         # CUTE_ATTN_DECODE_PTR_ARGS=1 build (kernel PTX identical to ART's)
REF=$PWD/ref                      # main at eb86397 (session 4 final): the "before" of plan() / run()
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $OUT/env.txt 2>&1
python3 -c "import torch, tvm_ffi; print('torch', torch.__version__, 'tvm_ffi', tvm_ffi.__version__, 'torch dlpack c api', hasattr(torch.Tensor, '__dlpack_c_exchange_api__'))" >> $OUT/env.txt 2>&1
cat $OUT/env.txt
# 1. GPU tests first: the branch's host code with the default kernels, then the PTR_ARGS launch ABI
CUTE_ATTN_ARTIFACTS=$ART timeout 150 python3 -m pytest -m gpu tests/test_gpu_decode.py -q -p no:cacheprovider > $OUT/tests_default.log 2>&1
echo "tests default rc=$?: $(tail -1 $OUT/tests_default.log)"
CUTE_ATTN_DECODE_PTR_ARGS=1 CUTE_ATTN_ARTIFACTS=$PTR timeout 150 python3 -m pytest -m gpu tests/test_gpu_decode.py -q -p no:cacheprovider > $OUT/tests_ptr.log 2>&1
echo "tests PTR_ARGS rc=$?: $(tail -1 $OUT/tests_ptr.log)"
# 2. host times, 3 processes: plan() / run() of this branch against main (ref:) in one process, and run() with
#    each launch ABI in the same process (--tagged; checks first that both ABIs give the same output)
for i in 1 2 3; do
    CUTE_ATTN_ARTIFACTS=$ART timeout 150 python3 -m bench.decode_host --ref $REF --tagged $PWD/build/tagged \
        --reps 2000 --rounds 4 --json $OUT/host_$i.json > $OUT/host_$i.log 2>&1
    echo "host process $i rc=$?"
    grep -E "ABI A/B|^(ref:)?(plan|plan_py|c_call|run|run_tensor_abi|run_ptr_abi) " $OUT/host_$i.log
done
# 3. the project's own plan()/run() lines (bench.decode's functions), once, and the FFI cost per argument kind
CUTE_ATTN_ARTIFACTS=$ART timeout 60 python3 - <<'PY' 2>&1 | tee $OUT/bench_decode_host.log
import bench.decode as B
p = B.plan_host_time_us()
r = B.run_host_time_us()
print(f"bench.decode: plan() compiled min/median {p['compiled'][0]:.1f}/{p['compiled'][1]:.1f} us, numpy {p['numpy'][1]:.0f}; run() median {r:.1f} us")
PY
timeout 120 python3 -m bench.decode_ffi_cost $PWD/build/ffi --device cuda --reps 20000 > $OUT/ffi.log 2>&1
echo "ffi rc=$?"; cat $OUT/ffi.log
cd $OUT && tar -cJf s5_decode_host.tar.xz *.log *.json *.txt && rm -f *.log *.json *.txt
ls -la
