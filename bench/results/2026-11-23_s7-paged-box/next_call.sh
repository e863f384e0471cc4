#!/bin/bash
# Session 7 paged-box: ONE device call (H100; ~130-150 s of device time, limit 200 s). Needs the snapshot that
# build_snapshot.sh makes on the CPU host (carry [".kit", ".snap-s7-paged-box"], ~16 MB + ~3 MB), run from the device
# copy's root:
#   source .kit/unpack.sh .kit >/dev/null && bash .snap-s7-paged-box/bench/results/2026-11-23_s7-paged-box/next_call.sh
# The question (bench/NOTES-prefill-paged.md 18): the paged kernel never launched with the dense kernel's
# double-buffered P (config double_p, hd128); does CUTE_ATTN_PAGED_DOUBLE_P close page 16 / 64's gap to dense?
# Order: (1) GPU tests of the paged kernels built with CUTE_ATTN_PAGED_DOUBLE_P=all (hd128: bf16 + fp16, causal +
# not, box 0 / 16 / 64, against the reference and bitwise against dense), (2) in-process A/B, hd128 causal bf16,
# a (main) / dp (switch on), pages 1, 16, 64, cases 4 x 4k, 16 x 1k, append 512 on 8k, 2-3 processes x 5 rounds,
# (3) ncu, 4 x 4k, one launch each of dense, a / dp x page 1 / 16 / 64: cycles, stall reasons per warp role,
# L2, (4) the trace build (tile-start stats), dense vs dp page 16 / 64, if time is left.
# Writes $OUT/main.log (summary, printed at the end) and $OUT/s7.tar.xz (every log, JSON and ncu export): 2 files.
set -u
S=${S:-$PWD/.snap-s7-paged-box}
OUT=${OUT:-/tmp/s7_out}
W=/tmp/s7w
R=$S/bench/results/2026-11-23_s7-paged-box
mkdir -p "$OUT" $W
cd "$S" || exit 1
export PYTHONPATH=$S${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$S/build/artifacts/sm_90a
export CUTE_ATTN_PAGED_DOUBLE_P=all  # only read where a kernel would be compiled here (none should be)
L=$OUT/main.log
T0=$(date +%s)
el() { echo $(( $(date +%s) - T0 )); }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv > "$L"

# (1) GPU tests FIRST (the hd128 variants are built; test_head_dims would JIT hd64 / hd256: left out)
t0=$(date +%s)
timeout 75 python3 -m pytest tests/test_gpu_prefill_paged.py -q -rs -p no:cacheprovider -k "not head_dims" \
    > $W/gpu_tests.log 2>&1
echo "tests rc=$? $(( $(date +%s) - t0 ))s" >> "$L"; tail -3 $W/gpu_tests.log >> "$L"

# (2) A/B (each process: same data, every build's output checked bitwise against dense, interleaved rounds)
AB="--variant a=$S/ab/a --variant dp=$S/build/artifacts/sm_90a --pages 1,16,64"
for r in 1 2 3; do
  if [ "$(el)" -gt $(( r == 3 ? 75 : 60 )) ]; then echo "ab $r skipped at $(el)s" >> "$L"; continue; fi
  t0=$(date +%s)
  timeout 40 python3 -m bench.prefill_paged_ab $AB --cases 0,1,2 --rounds 5 --json $W/ab_$r.json >> $W/ab.log 2>&1
  echo "ab $r rc=$? $(( $(date +%s) - t0 ))s" >> "$L"
done
python3 - >> "$L" 2>&1 <<'PY'
import glob, json, os, statistics as st
allr = {os.path.basename(f): json.load(open(f)) for f in sorted(glob.glob("/tmp/s7w/ab_*.json"))}
json.dump(allr, open("/tmp/s7w/ab_all.json", "w"), indent=1)
print("A/B: TFLOP/s, same-round ratio to dense, dp/a (median over rounds); > 1 faster")
agg = {}
for f, d in allr.items():
    for r in d["rows"]:
        cells = []
        for ps in (1, 16, 64):
            a, p = r[f"a_page{ps}"], r[f"dp_page{ps}"]
            x = r[f"dp_page{ps}/a"]
            agg.setdefault(ps, []).append(x)
            cells.append(f"p{ps} a {a:.0f} {r[f'a_page{ps}/dense']:.3f}x dp {p:.0f} {r[f'dp_page{ps}/dense']:.3f}x dp/a {x:.4f}")
        print(f, r["case"][:13], "dense %.0f" % r["dense"], " | ".join(cells))
for ps, xs in sorted(agg.items()):
    print(f"page {ps}: dp/a over {len(xs)}: mean {st.mean(xs):.4f} median {st.median(xs):.4f} min {min(xs):.4f} max {max(xs):.4f}")
PY

# (3) ncu: one launch each (4 x 4k), SourceCounters for the per-role stall split (ncu_roles.py)
if [ "$(el)" -lt 110 ]; then
  t0=$(date +%s)
  NV=""; for k in dense a_page1 dp_page1 a_page16 dp_page16 a_page64 dp_page64; do NV="$NV --nvtx-include $k/"; done
  timeout 50 ncu --clock-control none --nvtx $NV --section SpeedOfLight --section WarpStateStats \
      --section MemoryWorkloadAnalysis --section SourceCounters -o $W/prof \
      python3 -m bench.prefill_paged_ab $AB --profile > $W/ncu_run.log 2>&1
  echo "ncu rc=$? $(( $(date +%s) - t0 ))s" >> "$L"; tail -2 $W/ncu_run.log >> "$L"
  timeout 20 ncu -i $W/prof.ncu-rep --page details > $W/ncu_details.txt 2>&1
  awk '/<0,/{n=$0} /Elapsed Cycles/{e=$NF} /SM Frequency/{f=$NF} /L2 Hit Rate/{l=$NF} /Mem Busy/{m=$NF}
       /Warp Cycles Per Issued Instruction/{print n, "cycles", e, "GHz", f, "L2hit", l, "MemBusy", m, "cpi", $NF}' \
      $W/ncu_details.txt >> "$L"
  timeout 30 ncu -i $W/prof.ncu-rep --page source --csv --print-source sass > $W/ncu_sass.csv 2>&1
  echo "sass export rc=$? $(wc -c < $W/ncu_sass.csv)" >> "$L"
  python3 $R/ncu_roles.py $W/ncu_sass.csv $W/ncu_details.txt >> "$L" 2>&1
  gzip -f $W/ncu_sass.csv
else
  echo "ncu skipped at $(el)s" >> "$L"
fi

# (4) trace build: tile start (c_kwait/first, p_tile_setup, p_first_k) and the steady K round trip, dense vs dp
if [ "$(el)" -lt 115 ]; then
  t0=$(date +%s)
  timeout 30 python3 -m bench.prefill_paged_trace --trace-dir $S/trace --pages 16 64 --reps 3 --warm-s 1 \
      --normal-dir $S/build/artifacts/sm_90a --json $W/trace.json > $W/trace.log 2>&1
  echo "trace rc=$? $(( $(date +%s) - t0 ))s" >> "$L"
  grep -E "^\| (stat|c_kwait|c_kwait/first|p_tile_setup|p_emptywait/first|p_first_k|step|roundtrip/steady|mhz|event_us)" \
      $W/trace.log >> "$L"
else
  echo "trace skipped at $(el)s" >> "$L"
fi
echo "total $(el)s" >> "$L"
rm -f $W/prof.ncu-rep.tmp 2>/dev/null
(cd $W && tar -cJf "$OUT/s7.tar.xz" --exclude='*.ncu-rep' . ) 2>/dev/null
cat "$L"
