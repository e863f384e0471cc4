source .kit/unpack.sh .kit >/dev/null
cd .snap; S=$PWD; export PYTHONPATH=$S:$PYTHONPATH
AB="--variant a=$S/ab/a --variant t=$S/ab/t --variant s=$S/ab/s --variant c=$S/build/artifacts/sm_90a"
for r in 1 2 3 4; do
  timeout 55 python3 -m bench.prefill_paged_ab $AB --rounds 6 --json $OUT/ab_$r.json > $OUT/ab_$r.log 2>&1
  echo "ab $r rc=$?"
done
python3 - <<'PY'
import glob, json, os
for f in sorted(glob.glob(os.environ["OUT"] + "/ab_*.json")):
    for r in json.load(open(f))["rows"]:
        print(os.path.basename(f), r["case"][:13], "dense %.1f" % r["dense"], " | ".join(
            "%s %.1f %.4f" % (k, v, r[k + "/a"]) for k, v in r.items() if "_page" in k and "/" not in k))
PY
