"""Summary of next_call.sh's A/B JSONs (bench.prefill_dense_ab --json): per case, each build's TFLOP/s and its
same-round time ratio to the first build (> 1 = faster), one column per process, then the mean ratio over processes
and the verdict of bench/NOTES-prefill-paged.md 19.3 (box64 / base at 4 x 4k: <= 0.96 the box shape is most of the
page-64 gap, >= 0.99 it is not, between: a part).

    python3 summary.py ab_1.json [ab_2.json ...]
"""

import json
import sys


def main(paths):
    runs = []
    for p in paths:
        try:
            runs.append(json.load(open(p)))
        except (OSError, ValueError) as e:
            print(f"{p}: unreadable ({e})")
    if not runs:
        print("no A/B JSON")
        return
    print(runs[0].get("env"))
    names = [v.split("=", 1)[0] for v in runs[0]["variants"]]
    base = names[0]
    print(f"{len(runs)} process(es); ratio = median over rounds of t({base}) / t(build), > 1 faster than {base}")
    print("| case | " + " | ".join(f"{n} TFLOP/s" for n in names) + " | "
          + " | ".join(f"{n}/{base} (per process; mean)" for n in names[1:]) + " |")
    print("|" + " --- |" * (1 + 2 * len(names) - 1))
    means = {}
    for i, row in enumerate(runs[0]["rows"]):
        rows = [r["rows"][i] for r in runs if i < len(r["rows"])]
        tf = [" / ".join(f"{r.get(n, float('nan')):.1f}" for r in rows) for n in names]
        cells = []
        for n in names[1:]:
            xs = [r[f"{n}/{base}"] for r in rows if f"{n}/{base}" in r]
            m = sum(xs) / len(xs) if xs else float("nan")
            means[(row["case"], n)] = m
            cells.append(" / ".join(f"{x:.4f}" for x in xs) + f"; {m:.4f}")
        print(f"| {row['case']} | " + " | ".join(tf) + " | " + " | ".join(cells) + " |")
    m = means.get(("4x4096:128:causal", "box64"))
    if m is not None:
        if m <= 0.96:
            verdict = "box64 costs >= 4 % at 4 x 4k: the 64-row box shape is most of page 64's gap"
        elif m >= 0.99:
            verdict = "box64 within 1 % of base at 4 x 4k: the box shape is not the cause"
        else:
            verdict = "box64 costs 1-4 % at 4 x 4k: a part of page 64's gap"
        print(f"verdict (19.3): box64/base at 4 x 4k = {m:.4f}: {verdict}")


if __name__ == "__main__":
    main(sys.argv[1:])
