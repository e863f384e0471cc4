"""The producer warps' stall samples per instruction kind, from an ncu source export (``--page source --csv
--print-source sass``): per kernel, the SASS before the first ``USETMAXREG.TRY_ALLOC`` (producer + prologue), the
samples and top stall reasons of its UTMALDG, SYNCS (barrier waits / arrives), SHFL, R2UR, LDG and other
instructions, and the executed counts (session 16, NOTES-prefill-paged 37).
    python3 ncu_tma.py sass.csv[.gz]
"""
import csv, gzip, io, re, sys


def kernels(path):
    raw = (gzip.open if path.endswith('.gz') else open)(path, 'rt', errors='replace').read()
    for b in re.split(r'^"Kernel Name",', raw, flags=re.M)[1:]:
        first, rest = b.split('\n', 1)
        rows = list(csv.reader(io.StringIO(rest)))
        hdr, body = rows[0], [r for r in rows[1:] if len(r) == len(rows[0])]
        yield first.strip().strip('",'), hdr, body


def num(x):
    try:
        return float(x.replace(',', ''))
    except ValueError:
        return 0.0


KINDS = (('UTMALDG', 'UTMALDG'), ('SYNCS', 'SYNCS'), ('SHFL', 'SHFL'), ('R2UR', 'R2UR'), ('LDG', 'LDG'),
         ('NANOSLEEP', 'NANOSLEEP'))


def main(path):
    for name, hdr, body in kernels(path):
        ix = {h: i for i, h in enumerate(hdr)}
        src, smp, ins = ix['Source'], ix['Warp Stall Sampling (All Samples)'], ix['Instructions Executed']
        stalls = [h for h in hdr if h.startswith('stall_') and '(Not Issued)' not in h]
        split = next((k for k, r in enumerate(body) if 'USETMAXREG.TRY_ALLOC' in r[src]), len(body))
        part = body[:split]
        tot = sum(num(r[smp]) for r in part)
        print(f"\n== {name}: producer region {len(part)} instructions, {tot:.0f} samples, "
              f"{sum(num(r[ins]) for r in part):.0f} warp instructions executed")
        groups = {k: [] for k, _ in KINDS}
        groups['other'] = []
        for r in part:
            op = r[src].split()
            op = op[1] if op and op[0].startswith('@') and len(op) > 1 else (op[0] if op else '')
            key = next((k for k, pat in KINDS if op.startswith(pat)), 'other')
            groups[key].append(r)
        for k, rows in groups.items():
            s = sum(num(r[smp]) for r in rows)
            if not rows:
                continue
            st = {h: sum(num(r[ix[h]]) for r in rows) for h in stalls}
            top = sorted(st.items(), key=lambda x: -x[1])[:4]
            print(f"  {k:10s} static {len(rows):4d}  executed {sum(num(r[ins]) for r in rows):10.0f}  samples {s:8.0f} "
                  f"({100 * s / max(tot, 1):4.1f} %)  " + ", ".join(f"{h[6:]} {v:.0f}" for h, v in top if v))


if __name__ == '__main__':
    main(sys.argv[1])
