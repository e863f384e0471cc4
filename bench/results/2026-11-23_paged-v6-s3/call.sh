#!/bin/bash
# paged-v6-s3 device call: GPU tests of B (3 gather stages), bench A (main) / B interleaved, ncu cycles A and B
source .kit/unpack.sh .kit >/dev/null
ROOT=$PWD; export PYTHONUNBUFFERED=1; L=$OUT/main.log
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv > $L
cd $ROOT/.snap-pv6s3b && PYTHONPATH=$PWD:$PYTHONPATH timeout 80 python3 -m pytest tests/test_gpu_prefill_paged.py -q -k "not fp16" > $OUT/gpu_tests.log 2>&1; echo "tests rc=$?" >> $L; tail -2 $OUT/gpu_tests.log >> $L
mkdir -p /tmp/bj
for r in a1 b1 a2 b2 a3 b3; do
  cd $ROOT/.snap-pv6s3${r:0:1}; t0=$(date +%s)
  PYTHONPATH=$PWD:$PYTHONPATH timeout 40 python3 -m bench.prefill_paged --rounds 3 --json /tmp/bj/bench_$r.json > /tmp/bj/bench_$r.log 2>&1
  echo "bench $r rc=$? $(( $(date +%s) - t0 ))s" >> $L
done
cd $ROOT && python3 - >> $L <<'PY'
import json, os, glob
allr = {}
for f in sorted(glob.glob("/tmp/bj/bench_*.json")):
    d = json.load(open(f)); allr[os.path.basename(f)] = d
    for r in d["rows"]:
        print(os.path.basename(f)[6:8], r["case"][:13], "dense %.1f" % r["dense"], " ".join("p%s %.1f (%s)" % (k[4:], v, r[k + "/dense"]) for k, v in r.items() if k.startswith("page") and "/" not in k))
        print("     rounds_ms", {k: [round(x, 4) for x in v] for k, v in r["rounds_ms"].items()})
json.dump(allr, open(os.environ["OUT"] + "/bench_all.json", "w"), indent=1)
PY
for s in a b; do
  cd $ROOT/.snap-pv6s3$s; t0=$(date +%s)
  PYTHONPATH=$PWD:$PYTHONPATH timeout 45 ncu --clock-control none --nvtx --nvtx-include "dense/" --nvtx-include "page1/" --section SpeedOfLight --section WarpStateStats -o /tmp/prof_$s python3 -m bench.prefill_paged --profile > /tmp/ncu_run_$s.log 2>&1; echo "ncu $s rc=$? $(( $(date +%s) - t0 ))s" >> $L
  timeout 15 ncu -i /tmp/prof_$s.ncu-rep --page details > $OUT/ncu_${s}_details.txt 2>&1
  awk -v s=$s '/<0,/{n=$0} /Elapsed Cycles/{e=$NF} /SM Frequency/{f=$NF} /Duration/{d=$NF} /Warp Cycles Per Issued Instruction/{print s, n, "cycles", e, "GHz", f, "dur", d, "cpi", $NF}' $OUT/ncu_${s}_details.txt >> $L
done
cat $L
