#!/bin/bash
# device call 1 for paged-v5: tests (B), interleaved bench A/B/A/B/A/B, ncu of A and B at 4x4k
source .kit/unpack.sh .kit >/dev/null
ROOT=$PWD
export PYTHONUNBUFFERED=1
L=$OUT/main.log
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu --format=csv > $L
cd $ROOT/.snap-pv5b && PYTHONPATH=$PWD:$PYTHONPATH timeout 100 python3 -m pytest tests/test_gpu_prefill_paged.py -q -k "not fp16" -x > $OUT/gpu_tests.log 2>&1; echo "tests rc=$?" >> $L; tail -2 $OUT/gpu_tests.log >> $L
mkdir -p /tmp/bj
for r in a1 b1 c1 a2 b2 c2 a3 b3; do
  s=${r:0:1}; cd $ROOT/.snap-pv5$s
  t0=$(date +%s)
  if [ $s = c ]; then
    PYTHONPATH=$PWD:$PYTHONPATH timeout 50 python3 -c "import bench.prefill_paged as b; b.PAGE_SIZES=(64, 128); b.main(['--json', '/tmp/bj/bench_$r.json'])" > /tmp/bj/bench_$r.log 2>&1
  else
    PYTHONPATH=$PWD:$PYTHONPATH timeout 50 python3 -m bench.prefill_paged --json /tmp/bj/bench_$r.json > /tmp/bj/bench_$r.log 2>&1
  fi
  echo "bench $r rc=$? $(( $(date +%s) - t0 ))s" >> $L
done
cd $ROOT && python3 - >> $L <<'PY'
import json, os, glob
out = os.environ["OUT"]; allr = {}
for f in sorted(glob.glob("/tmp/bj/bench_*.json")):
    d = json.load(open(f)); allr[os.path.basename(f)] = d
    print(os.path.basename(f), " | ".join(r['case'][:12] + " d %.1f " % r['dense'] + " ".join("p%s %s" % (k[4:], (round(v, 1) if isinstance(v, float) else v)) for k, v in r.items() if k.startswith("page") and "/" not in k) for r in d["rows"]))
json.dump(allr, open(out + "/bench_all.json", "w"), indent=1)
PY
for s in a b; do
  cd $ROOT/.snap-pv5$s
  t0=$(date +%s)
  PYTHONPATH=$PWD:$PYTHONPATH timeout 70 ncu --clock-control none --nvtx --nvtx-include "dense/" --nvtx-include "page1/" --nvtx-include "page16/" --nvtx-include "page64/" --nvtx-include "page64c/" --section SpeedOfLight --section WarpStateStats --section SchedulerStats --section InstructionStats --section MemoryWorkloadAnalysis --section SourceCounters --section LaunchStats -o /tmp/prof_$s python3 -m bench.prefill_paged --profile > /tmp/ncu_run_$s.log 2>&1; echo "ncu $s rc=$? $(( $(date +%s) - t0 ))s" >> $L
  tail -5 /tmp/ncu_run_$s.log >> $L
  timeout 20 ncu -i /tmp/prof_$s.ncu-rep --page details > $OUT/ncu_${s}_details.txt 2>&1
  timeout 30 ncu -i /tmp/prof_$s.ncu-rep --page source --csv --print-source sass > /tmp/ncu_${s}_sass.csv 2>&1; echo "sass export $s rc=$? $(wc -c < /tmp/ncu_${s}_sass.csv)" >> $L
  gzip -c /tmp/ncu_${s}_sass.csv > $OUT/ncu_${s}_sass.csv.gz
done
cat $L
