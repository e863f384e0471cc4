"""Summary of next_call.sh's A/B JSONs (bench.prefill_paged_ab, variants base, ibox): per case and page, TFLOP/s and
the same-round ratios per process, their mean, and the verdict of bench/NOTES-prefill-paged.md 20.4.
    python3 summary.py ab_1.json [ab_2.json ...]"""
import json
import os
import sys


def main(paths):
    runs = [json.load(open(p)) for p in paths if os.path.isfile(p)]
    if not runs:
        print("no A/B JSON")
        return
    cases = [r["case"] for r in runs[0]["rows"]]
    pages = sorted({int(k.split("_page")[1].split("/")[0]) for k in runs[0]["rows"][0] if "_page" in k})
    print("case | page | TFLOP/s dense / base / ibox per process | base/dense | ibox/dense | ibox/base (per process; mean)")
    means = {}
    for ci, case in enumerate(cases):
        for ps in pages:
            rows = [r["rows"][ci] for r in runs]
            tf = "; ".join("%.1f / %.1f / %.1f" % (x["dense"], x[f"base_page{ps}"], x[f"ibox_page{ps}"]) for x in rows)
            cols = []
            for key in (f"base_page{ps}/dense", f"ibox_page{ps}/dense", f"ibox_page{ps}/base"):
                v = [x[key] for x in rows]
                means[(case, ps, key.split("/")[0].split("_")[0] + "/" + key.split("/")[1])] = sum(v) / len(v)
                cols.append(" / ".join("%.3f" % y for y in v) + "; **%.3f**" % (sum(v) / len(v)))
            print(f"{case} | {ps} | {tf} | " + " | ".join(cols))
    for ps in pages:
        m = means.get((cases[0], ps, "ibox/base"))
        if m is None:
            continue
        if ps == 16:
            verdict = ("confirmed: the box count is a lever (>= 1.010)" if m >= 1.010 else
                       "partly (1.003-1.010)" if m > 1.003 else "refuted: halving the boxes does not move page 16")
        else:
            verdict = ("no change, as predicted (0.995-1.010)" if 0.995 <= m <= 1.010 else
                       "faster than predicted" if m > 1.010 else "SLOWER than base")
        print(f"verdict page {ps} ({cases[0]}, ibox/base mean {m:.4f}): {verdict}")


if __name__ == "__main__":
    main(sys.argv[1:])
