# Session 6, device call 9 (last): GPU tests of the final tree (paged-prune + decode-prune merged: PTX identical to
# call 7's tree on the CPU box) and the measurement-only nofence A/B (nofence_build.sh: page 1's consumer fence left
# out, timing only). Carry [".kit", ".snap"], timeout 200:  bash .snap/bench/results/2026-11-23_s6/call9.sh
source .kit/unpack.sh .kit >/dev/null
cd .snap; S=$PWD; export PYTHONPATH=$S:$PYTHONPATH
timeout 130 python3 -m pytest -m gpu tests -q -rs --timeout=120 -p no:cacheprovider > $OUT/gpu_tests.log 2>&1
echo "tests rc=$?"; tail -2 $OUT/gpu_tests.log; grep -E "^(FAILED|ERROR)" $OUT/gpu_tests.log | head
for r in 1 2; do
  timeout 30 python3 -m bench.prefill_paged_ab --variant a=$S/ab/a --variant nf=$S/ab/nf --pages 1 --rounds 6 \
      --json $OUT/nf_$r.json > $OUT/nf_$r.log 2>&1
  echo "nf $r rc=$?"
done
python3 - <<'PY'
import glob, json, os
for f in sorted(glob.glob(os.environ["OUT"] + "/nf_*.json")):
    for r in json.load(open(f))["rows"]:
        print(os.path.basename(f), r["case"][:13], "dense %.1f" % r["dense"], " | ".join(
            "%s %.1f %.4f" % (k, v, r[k + "/a"]) for k, v in r.items() if "_page" in k and "/" not in k))
PY
