"""Summary of next_call.sh's A/B JSONs (bench.prefill_dense_ab): per case, split / nosplit (median over rounds of the
same-round time ratio, > 1 = the split plan faster) in each process, TFLOP/s and the plans' CTAs / split."""

import json
import sys


def main(paths):
    rows = {}
    for p in paths:
        try:
            with open(p) as f:
                data = json.load(f)
        except (OSError, ValueError) as e:
            print(f"{p}: {e!r}")
            continue
        for r in data["rows"]:
            rows.setdefault(r["case"], []).append(r)
    print("case | split/nosplit per process | split TFLOP/s | nosplit TFLOP/s | split/cuDNN | plans")
    for case, rs in rows.items():
        ratio = " / ".join(f"{r.get('split/nosplit', float('nan')):.4f}" for r in rs)
        tf = " / ".join(f"{r.get('split', 0):.0f}" for r in rs)
        tf0 = " / ".join(f"{r.get('nosplit', 0):.0f}" for r in rs)
        cud = " / ".join(f"{r['split/cuDNN']:.3f}" for r in rs if "split/cuDNN" in r) or "-"
        print(f"{case} | {ratio} | {tf} | {tf0} | {cud} | {rs[0].get('ctas')}")


if __name__ == "__main__":
    main(sys.argv[1:])
