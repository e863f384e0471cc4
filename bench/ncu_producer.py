"""The producer region's executed instructions and stall samples per kernel, from an ncu source export (``ncu -i R
--page source --csv --print-source sass``, after a run with ``--section SourceCounters``), named by the NVTX ranges of
the details page when given.

    python -m bench.ncu_producer sass.csv[.gz] [details.txt] [--blocks N]

Why (session 16, bench/NOTES-prefill-paged.md 37-40): the prefill kernels' producer warps share the SM sub-partitions
with the consumer warps, and every instruction they execute per key block lengthens the consumers' block (the dense
producer padded with 200 instructions per block ran 9 % slower at 4 x 4k with the consumers' code unchanged). So a
producer change is read here first, by its executed instructions, before its timing. The producer region is the SASS
before the kernel's first ``USETMAXREG.TRY_ALLOC`` (the consumers' register raise, as
bench/results/2026-11-23_s7-paged-box/ncu_roles.py splits it; the common prologue is counted with the producer). ``--blocks``: key blocks per launch (the trace tool's ``blocks_per_launch``; 4 x 4k hd128 causal at 16
heads: 33,792), to print instructions per block.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import re

# instruction kinds reported separately (opcode prefixes), the rest counted as "other"
KINDS = ("UTMALDG", "LDGSTS", "SYNCS", "SHFL", "R2UR", "LDG", "NANOSLEEP")


def kernels(text: str):
    """(kernel name, header, rows) of every kernel block of a source-page CSV export."""
    for block in re.split(r'^"Kernel Name",', text, flags=re.M)[1:]:
        first, rest = block.split("\n", 1)
        rows = list(csv.reader(io.StringIO(rest)))
        hdr = rows[0]
        yield first.strip().strip('",'), hdr, [r for r in rows[1:] if len(r) == len(hdr)]


def _num(x: str) -> float:
    try:
        return float(x.replace(",", ""))
    except ValueError:
        return 0.0


def _opcode(source: str) -> str:
    words = source.split()
    if words and words[0].startswith("@"):
        words = words[1:]
    return words[0] if words else ""


def producer_stats(hdr: list, rows: list) -> dict:
    """{"instructions": static count, "executed": warp instructions, "samples": stall samples, "kinds": {kind:
    (static, executed, samples, top stall reasons)}} of the rows before the first ``USETMAXREG.TRY_ALLOC``."""
    ix = {h: i for i, h in enumerate(hdr)}
    src, smp, ins = ix["Source"], ix["Warp Stall Sampling (All Samples)"], ix["Instructions Executed"]
    stalls = [h for h in hdr if h.startswith("stall_") and "(Not Issued)" not in h]
    split = next((k for k, r in enumerate(rows) if "USETMAXREG.TRY_ALLOC" in r[src]), len(rows))
    part = rows[:split]
    groups: dict = {}
    for r in part:
        op = _opcode(r[src])
        kind = next((k for k in KINDS if op.startswith(k)), "other")
        groups.setdefault(kind, []).append(r)
    kinds = {}
    for kind, rs in groups.items():
        st = {h[6:]: sum(_num(r[ix[h]]) for r in rs) for h in stalls}
        top = [(h, v) for h, v in sorted(st.items(), key=lambda x: -x[1])[:4] if v]
        kinds[kind] = (len(rs), sum(_num(r[ins]) for r in rs), sum(_num(r[smp]) for r in rs), top)
    return {"instructions": len(part), "executed": sum(_num(r[ins]) for r in part),
            "samples": sum(_num(r[smp]) for r in part), "kinds": kinds}


def nvtx_names(details: str) -> list:
    """The NVTX range of every profiled kernel, in order (``<0,NAME>`` lines of the details page)."""
    return re.findall(r"^\s*<\d+,([^>]+)>", details, flags=re.M)


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("sass_csv")
    p.add_argument("details", nargs="?")
    p.add_argument("--blocks", type=float, default=0)
    args = p.parse_args(argv)
    opener = gzip.open if args.sass_csv.endswith(".gz") else open
    with opener(args.sass_csv, "rt", errors="replace") as f:
        text = f.read()
    names = []
    if args.details:
        with open(args.details, errors="replace") as f:
            names = nvtx_names(f.read())
    for k, (kernel, hdr, rows) in enumerate(kernels(text)):
        s = producer_stats(hdr, rows)
        name = names[k] if k < len(names) else kernel[:60]
        per = f", {s['executed'] / args.blocks:.0f} per key block" if args.blocks else ""
        print(f"== {name}: producer region {s['instructions']} instructions, {s['executed']:.0f} warp instructions "
              f"executed{per}, {s['samples']:.0f} stall samples")
        for kind, (static, executed, samples, top) in s["kinds"].items():
            print(f"  {kind:10s} static {static:5d}  executed {executed:12.0f}  samples {samples:7.0f}  "
                  + ", ".join(f"{h} {v:.0f}" for h, v in top))


if __name__ == "__main__":
    main()
