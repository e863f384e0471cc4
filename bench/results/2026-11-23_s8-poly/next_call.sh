#!/bin/bash
# Session 8: CUTE_ATTN_SOFTMAX_POLY_EXP2 measured once at hd128 / hd256 (NOTES-prefill 19; never measured there).
# Runs from .snap-s8-list (the list-schedule snapshot) with its A/B dirs ab/base (copy of build/, switch off),
# ab/poly4, ab/poly8 (CUTE_ATTN_SOFTMAX_POLY_EXP2=4 / 8, the bf16 hd128 variants and hd256 non-causal, --force):
#   (cd .snap-s8-list && for e in 4 8; do CUTE_ATTN_SOFTMAX_POLY_EXP2=$e python3 -m cute_attn.build -j 2 --force \
#     --out ab/poly$e --only 'prefill_bf16_headdim128_headdimv128_*' --only 'prefill_bf16_headdim256_headdimv256_nocausal_sm90a'; done)
# 2 processes (rounds) + 1 paired (one shared clock: work per clock), cuDNN beside; ~90 s. Writes $OUT/poly/.
set -u
S=${S:-$PWD/.snap-s8-list}
OUT=${OUT:-/tmp/poly_out}
W=$OUT/poly
mkdir -p $W
cd "$S" || exit 1
export PYTHONPATH=$S${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
unset CUTE_ATTN_SOFTMAX_POLY_EXP2 CUTE_ATTN_PREFILL_SCHEDULE CUTE_ATTN_PREFILL_CTAS
for r in 1 2 3; do
  timing=rounds; [ $r = 3 ] && timing=paired
  timeout 60 python3 -m bench.prefill_dense_ab --rounds 6 --timing $timing --variant base=$S/ab/basep \
      --variant poly8=$S/ab/poly8 --variant poly4=$S/ab/poly4 --json $W/ab_$r.json \
      --cases 1x16384:128:full,1x16384:128:causal,1x16384:256:full,4x4096:128:causal > $W/ab_$r.log 2>&1
  echo "poly ab $r ($timing) rc=$?"
done
python3 - <<'PY'
import glob, json, os
runs = [json.load(open(f)) for f in sorted(glob.glob(os.environ.get("OUT", "/tmp/poly_out") + "/poly/ab_*.json"))]
if runs:
    names = [v.split("=", 1)[0] for v in runs[0]["variants"]]
    print("case | " + " | ".join(f"{n} x base (r1 / r2 / paired)" for n in names[1:]) + " | TFLOP/s run 1: "
          + " / ".join(names) + " / cuDNN")
    for i, row in enumerate(runs[0]["rows"]):
        rows = [r["rows"][i] for r in runs if i < len(r["rows"])]
        cells = [" / ".join("%.4f" % r[f"{n}/base"] for r in rows) for n in names[1:]]
        print(f"{row['case']} | " + " | ".join(cells) + " | "
              + " / ".join("%.1f" % row.get(n, float("nan")) for n in names + ["cuDNN"]))
PY
