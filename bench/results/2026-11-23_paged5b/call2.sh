#!/bin/bash
# device call 2 for paged-v5: tests (D = G1 + F3), plain and interleaved benches B/D with SM clock log, ncu of D
source .kit/unpack.sh .kit >/dev/null
ROOT=$PWD
export PYTHONUNBUFFERED=1
L=$OUT/main.log
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv > $L
nvidia-smi --query-gpu=timestamp,clocks.sm,power.draw,temperature.gpu --format=csv -lms 100 > $OUT/smi.csv 2>&1 &
SMI=$!
cd $ROOT/.snap-pv5d && PYTHONPATH=$PWD:$PYTHONPATH timeout 100 python3 -m pytest tests/test_gpu_prefill_paged.py -q -k "not fp16" > $OUT/gpu_tests.log 2>&1; echo "tests rc=$?" >> $L; tail -2 $OUT/gpu_tests.log >> $L
mkdir -p /tmp/bj
for r in b1 d1 b2 d2 br1 dr1 br2 dr2; do
  s=${r:0:1}; cd $ROOT/.snap-pv5$s
  t0=$(date +%s)
  echo "$(date +%H:%M:%S.%N) start $r" >> $L
  if [ ${#r} = 3 ]; then
    PYTHONPATH=$PWD:$PYTHONPATH timeout 60 python3 -m bench.prefill_paged --rounds 3 --json /tmp/bj/bench_$r.json > /tmp/bj/bench_$r.log 2>&1
  else
    PYTHONPATH=$PWD:$PYTHONPATH timeout 40 python3 -m bench.prefill_paged --json /tmp/bj/bench_$r.json > /tmp/bj/bench_$r.log 2>&1
  fi
  echo "bench $r rc=$? $(( $(date +%s) - t0 ))s" >> $L
done
cd $ROOT && python3 - >> $L <<'PY'
import json, os, glob
out = os.environ["OUT"]; allr = {}
for f in sorted(glob.glob("/tmp/bj/bench_*.json")):
    d = json.load(open(f)); allr[os.path.basename(f)] = d
    print(os.path.basename(f), " | ".join(r['case'][:12] + " d %.1f " % r['dense'] + " ".join("p%s %.1f (%s)" % (k[4:], v, r[k + "/dense"]) for k, v in r.items() if k.startswith("page") and "/" not in k) for r in d["rows"]))
    for r in d["rows"]:
        if "rounds" in r:
            print("   ", r["case"][:12], {k: [round(x, 1) for x in v] for k, v in r["rounds"].items()})
json.dump(allr, open(out + "/bench_all.json", "w"), indent=1)
PY
kill $SMI
cd $ROOT/.snap-pv5d
t0=$(date +%s)
PYTHONPATH=$PWD:$PYTHONPATH timeout 70 ncu --clock-control none --nvtx --nvtx-include "dense/" --nvtx-include "page1/" --nvtx-include "page16/" --nvtx-include "page64/" --section SpeedOfLight --section WarpStateStats --section SchedulerStats --section InstructionStats --section SourceCounters -o /tmp/prof_d python3 -m bench.prefill_paged --profile > /tmp/ncu_run_d.log 2>&1; echo "ncu d rc=$? $(( $(date +%s) - t0 ))s" >> $L
timeout 20 ncu -i /tmp/prof_d.ncu-rep --page details > $OUT/ncu_d_details.txt 2>&1
timeout 30 ncu -i /tmp/prof_d.ncu-rep --page source --csv --print-source sass > /tmp/ncu_d_sass.csv 2>&1
gzip -c /tmp/ncu_d_sass.csv > $OUT/ncu_d_sass.csv.gz
awk '/<0,/{n=$0} /Elapsed Cycles/{e=$NF} /SM Frequency/{f=$NF} /Executed Instructions   /{print n, "cycles", e, "GHz", f, "instr", $NF}' $OUT/ncu_d_details.txt >> $L
cat $L
