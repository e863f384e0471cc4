#!/bin/bash
# paged-v7 device call 2: GPU tests of e (WIDE_GATHERS + GATHER_L2_PREFETCH), in-process A/B a/b/e/f x3, ncu page 1 a/b/e/f
source .kit/unpack.sh .kit >/dev/null
ROOT=$PWD; S=$ROOT/.snap-paged-v7; export PYTHONUNBUFFERED=1; L=$OUT/main.log
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv > $L
cd $S && export PYTHONPATH=$S:$PYTHONPATH
t0=$(date +%s); timeout 100 python3 -m pytest tests/test_gpu_prefill_paged.py -q > $OUT/gpu_tests.log 2>&1; echo "tests rc=$? $(( $(date +%s) - t0 ))s" >> $L; tail -2 $OUT/gpu_tests.log >> $L
AB="--variant a=$S/ab/a --variant b=$S/ab/b --variant e=$S/build/artifacts/sm_90a --variant f=$S/ab/f"
mkdir -p /tmp/bj
for r in 1 2 3; do
  t0=$(date +%s); timeout 80 python3 -m bench.prefill_paged_ab $AB --rounds 6 --json /tmp/bj/ab_$r.json >> $OUT/ab.log 2>&1
  echo "ab $r rc=$? $(( $(date +%s) - t0 ))s" >> $L
done
python3 - >> $L <<'PY'
import json, glob, os
allr = {os.path.basename(f): json.load(open(f)) for f in sorted(glob.glob("/tmp/bj/ab_*.json"))}
json.dump(allr, open(os.environ["OUT"] + "/ab_all.json", "w"), indent=1)
for f, d in allr.items():
    for r in d["rows"]:
        print(f, r["case"][:13], "dense %.1f" % r["dense"], " | ".join("%s %.1f %.3fx %.4f" % (k, v, r[k + "/dense"], r[k + "/a"]) for k, v in r.items() if "_page" in k and "/" not in k))
PY
t0=$(date +%s)
timeout 90 ncu --clock-control none --nvtx --nvtx-include "dense/" --nvtx-include "a_page1/" --nvtx-include "b_page1/" --nvtx-include "e_page1/" --nvtx-include "f_page1/" --section SpeedOfLight --section WarpStateStats --section MemoryWorkloadAnalysis --section SourceCounters --section LaunchStats -o /tmp/prof python3 -m bench.prefill_paged_ab $AB --profile > /tmp/ncu_run.log 2>&1; echo "ncu rc=$? $(( $(date +%s) - t0 ))s" >> $L
tail -4 /tmp/ncu_run.log >> $L
timeout 25 ncu -i /tmp/prof.ncu-rep --page details > $OUT/ncu_details.txt 2>&1
awk '/<0,/{n=$0} /Elapsed Cycles/{e=$NF} /SM Frequency/{f=$NF} /Warp Cycles Per Issued Instruction/{print n, "cycles", e, "GHz", f, "cpi", $NF}' $OUT/ncu_details.txt >> $L
timeout 40 ncu -i /tmp/prof.ncu-rep --page source --csv --print-source sass > /tmp/ncu_sass.csv 2>&1; echo "sass export rc=$? $(wc -c < /tmp/ncu_sass.csv)" >> $L
gzip -c /tmp/ncu_sass.csv > $OUT/ncu_sass.csv.gz
cat $L
