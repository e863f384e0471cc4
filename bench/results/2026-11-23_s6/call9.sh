# Session 6, device call 9 (last): GPU tests of the final tree (paged-prune + decode-prune merged: PTX identical to
# call 7's tree on the CPU box) and the measurement-only nofence A/B (nofence_build.sh: page 1's consumer fence left
# out, timing only). Carry [".kit", ".snap"], timeout 200:  bash .snap/bench/results/2026-11-23_s6/call9.sh
source .kit/unpack.sh .kit >/dev/null
cd .snap; S=$PWD; export PYTHONPATH=$S:$PYTHONPATH
timeout 115 python3 -m pytest -m gpu tests -q -rs --timeout=120 -p no:cacheprovider > $OUT/gpu_tests.log 2>&1
echo "tests rc=$?"; tail -2 $OUT/gpu_tests.log; grep -E "^(FAILED|ERROR)" $OUT/gpu_tests.log | head
for r in 1 2; do
  timeout 25 python3 -m bench.prefill_paged_ab --variant a=$S/ab/a --variant nf=$S/ab/nf --pages 1 --rounds 6 \
      --json $OUT/nf_$r.json >> $OUT/nf.log 2>&1
  echo "nf $r rc=$?"
done
python3 - <<'PY'
import glob, json, os
for f in sorted(glob.glob(os.environ["OUT"] + "/nf_*.json")):
    for r in json.load(open(f))["rows"]:
        print(os.path.basename(f), r["case"][:13], "dense %.1f" % r["dense"], " | ".join(
            "%s %.1f %.4f" % (k, v, r[k + "/a"]) for k, v in r.items() if "_page" in k and "/" not in k))
PY
# decode: the page tables' placement (sorted = each request's pages in cache order) vs shuffled, two processes
for pg in sorted shuffled; do
  timeout 40 python3 -m bench.decode --no-extras --pages $pg --cases "64 x 4k" "16 x 16k" --json $OUT/decode_$pg.json \
      > /tmp/decode_$pg.log 2>&1
  echo "decode $pg rc=$?"; grep -E "^\| (64|16) x" /tmp/decode_$pg.log; cat /tmp/decode_$pg.log >> $OUT/decode.log
done
(cd $OUT && tar -cJf /tmp/s6_call9.tar.xz . && find . -type f -delete && mv /tmp/s6_call9.tar.xz .)
