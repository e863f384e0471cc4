# Session 4, third call: decode GPU tests and the host times of plan() / run() after the run() fast path.
# NOT RUN: the device tool lent no machine after call 2 ("no new device machine is lent at present"); kept for the next session.
source .kit/unpack.sh .kit >/dev/null
cd .snap
export PYTHONPATH=$PWD:$PYTHONPATH
export CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
timeout 120 python3 -m pytest -m gpu tests/test_gpu_decode.py -q -p no:cacheprovider 2>&1 | tail -3
python3 - <<'PY'
import torch, bench.decode as B
for i in range(3):
    p = B.plan_host_time_us()
    r = B.run_host_time_us()
    print(f"rep {i}: plan() compiled min/median {p['compiled'][0]:.1f}/{p['compiled'][1]:.1f} us, C call {p['compiled_call'][1]:.1f}, numpy {p['numpy'][1]:.0f}; run() median {r:.1f} us")
PY
