"""Issue 4's targets over several ``bench.prefill --json`` files (one per process): per target, each process's ratio
to cuDNN (the median of its per-round ratios), their median, the median of all per-round ratios pooled, and how many
processes meet the target; then how many processes meet every target (NOTES-prefill 26.5's rule).

    python -m bench.issue4_summary prefill1.json prefill2.json ... [--md]
"""

from __future__ import annotations

import argparse
import json
import statistics

# (case, shape) -> the ratio target to cuDNN SDPA in the same run
TARGETS = {
    ("hd128 causal", "1x16384"): 1.15, ("hd128 causal", "4x4096"): 1.15, ("hd128 full", "1x16384"): 1.12,
    ("hd64 causal", "1x16384"): 1.12, ("hd64 full", "1x16384"): 1.12,
    ("hd256 causal", "1x16384"): 1.12, ("hd256 full", "1x16384"): 1.12,
    ("hd64 causal", "16x1024"): 1.0, ("hd128 causal", "16x1024"): 1.0, ("hd256 causal", "16x1024"): 1.0,
}


def round_ratios(row: dict) -> list[float]:
    per = row["rounds_ms"]
    return [c / o for o, c in zip(per["cute_attn"], per["cudnn"])]


def summarize(paths: list[str]) -> tuple[list[dict], int]:
    per_file = []
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        rows = data["rows"] if isinstance(data, dict) and "rows" in data else data
        found = {}
        for r in rows:
            key = (r.get("case"), r.get("shape"))
            if isinstance(r, dict) and key in TARGETS and "cudnn" in r.get("rounds_ms", {}):
                found[key] = round_ratios(r)
        per_file.append(found)
    out, all_met = [], [True] * len(paths)
    for key, target in TARGETS.items():
        procs = [statistics.median(f[key]) for f in per_file if key in f]
        pooled = [x for f in per_file if key in f for x in f[key]]
        if not procs:
            continue
        for i, f in enumerate(per_file):
            if key in f and statistics.median(f[key]) < target:
                all_met[i] = False
        out.append({"case": f"{key[0]} {key[1]}", "target": target, "processes": [round(p, 3) for p in procs],
                    "median": round(statistics.median(procs), 3), "pooled": round(statistics.median(pooled), 3),
                    "met": f"{sum(p >= target for p in procs)}/{len(procs)}"})
    return out, sum(all_met)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("json", nargs="+")
    args = p.parse_args(argv)
    rows, n_all = summarize(args.json)
    print("| case | target | per process | median | pooled rounds | met |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['target']:.2f}x | {' / '.join(f'{x:.3f}' for x in r['processes'])} | "
              f"{r['median']:.3f} | {r['pooled']:.3f} | {r['met']} |")
    print(f"\nprocesses meeting every target: {n_all}/{len(args.json)}")


if __name__ == "__main__":
    main()
