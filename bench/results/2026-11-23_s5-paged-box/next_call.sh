#!/bin/bash
# Session 5 paged-box: ONE device call (H100; ~150-200 s of device time, limit 240 s). Needs the snapshot that
# build_snapshot.sh makes on the CPU host (carry [".kit", ".snap-paged-box"], ~16 MB + ~6 MB), run from the device
# copy's root:
#   source .kit/unpack.sh .kit >/dev/null && bash .snap-paged-box/bench/results/2026-11-23_s5-paged-box/next_call.sh
# Order: (1) GPU tests of the paged kernels built with CUTE_ATTN_PAGED_BOX_LEAN=asm,stride,vfull (every head dim, both
# dtypes, against the reference and the dense kernel), (2) in-process A/B of the hd128 causal bf16 box-16 / box-64
# kernels a (main) / b (asm,stride,vfull) / c (asm,vfull), page 16 and 64, 4 x 4k, 16 x 1k, append 512 on 8k,
# 3 processes x 6 interleaved rounds.
# Writes $OUT/main.log (summary, printed at the end) and $OUT/box.tar.xz (every log and JSON): 2 files.
set -u
S=${S:-$PWD/.snap-paged-box}
OUT=${OUT:-/tmp/paged_box_out}
mkdir -p "$OUT" /tmp/pbx
cd "$S" || exit 1
export PYTHONPATH=$S${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$S/build/artifacts/sm_90a
L=$OUT/main.log
T0=$(date +%s)
el() { echo $(( $(date +%s) - T0 )); }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv > "$L"

# (1) GPU tests FIRST: build/artifacts/sm_90a = every prefill_* variant, the paged TMA-box ones (box 16 / 64, bf16 +
# fp16, hd64 / 128 / 256) with the switch on; tails, appends, GQA, HND, odd lengths, page sizes 1-256
t0=$(date +%s)
timeout 120 python3 -m pytest tests/test_gpu_prefill_paged.py -q -rs -p no:cacheprovider > /tmp/pbx/gpu_tests.log 2>&1
echo "tests rc=$? $(( $(date +%s) - t0 ))s" >> "$L"; tail -3 /tmp/pbx/gpu_tests.log >> "$L"

# (2) A/B (each process: same data, every build's output checked bitwise against dense, interleaved rounds)
AB="--variant a=$S/ab/a --variant b=$S/ab/b --variant c=$S/ab/c --pages 16,64 --cases 0,1,2"
for r in 1 2 3; do
  if [ "$(el)" -gt 190 ]; then echo "ab $r skipped at $(el)s" >> "$L"; continue; fi
  t0=$(date +%s)
  timeout 45 python3 -m bench.prefill_paged_ab $AB --rounds 6 --json /tmp/pbx/ab_$r.json >> /tmp/pbx/ab.log 2>&1
  echo "ab $r rc=$? $(( $(date +%s) - t0 ))s" >> "$L"
done
python3 - >> "$L" 2>&1 <<'PY'
import glob, json, os
allr = {os.path.basename(f): json.load(open(f)) for f in sorted(glob.glob("/tmp/pbx/ab_*.json"))}
json.dump(allr, open("/tmp/pbx/ab_all.json", "w"), indent=1)
for f, d in allr.items():
    for r in d["rows"]:
        print(f, r["case"][:13], "dense %.1f" % r["dense"], " | ".join(
            "%s %.1f %.3fx %.4f" % (k, v, r[k + "/dense"], r[k + "/a"])
            for k, v in r.items() if "_page" in k and "/" not in k))
PY
echo "total $(el)s" >> "$L"
(cd /tmp/pbx && tar -cJf "$OUT/box.tar.xz" .)
cat "$L"
