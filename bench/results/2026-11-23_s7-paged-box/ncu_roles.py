"""Per warp role stall samples from an ncu source export (``ncu -i R --page source --csv --print-source sass``):
each kernel's SASS split at its first ``USETMAXREG.TRY_ALLOC`` (the consumers' register raise: the producer's code
and the common prologue lie before it, the consumers' after). Per kernel and role: warp-stall samples, executed
warp instructions, the top stall reasons (share of the role's samples); for the consumers also the samples on
``WARPGROUP.DEPBAR`` (wgmma waits) and ``SYNCS`` (barrier waits), as bench/NOTES-prefill-paged.md 15.3.
Kernel names come from the details page's NVTX lines (``<0,NAME>``), in order.
    python3 ncu_roles.py sass.csv[.gz] [details.txt]
"""
import csv, gzip, io, re, sys


def kernels(path):
    raw = (gzip.open if path.endswith('.gz') else open)(path, 'rt', errors='replace').read()
    blocks = re.split(r'^"Kernel Name",', raw, flags=re.M)[1:]
    for b in blocks:
        lines = b.split('\n', 1)
        name = lines[0].strip().strip('",')
        rows = list(csv.reader(io.StringIO(lines[1])))
        hdr, body = rows[0], [r for r in rows[1:] if len(r) == len(rows[0])]
        yield name, hdr, body


def num(x):
    try:
        return float(x.replace(',', ''))
    except ValueError:
        return 0.0


def analyse(hdr, body):
    ix = {h: i for i, h in enumerate(hdr)}
    src, smp, ins = ix['Source'], ix['Warp Stall Sampling (All Samples)'], ix['Instructions Executed']
    stalls = [h for h in hdr if h.startswith('stall_') and '(Not Issued)' not in h]
    split = next((k for k, r in enumerate(body) if 'USETMAXREG.TRY_ALLOC' in r[src]), len(body))
    out = {}
    for role, part in (('producer', body[:split]), ('consumer', body[split:])):
        s = sum(num(r[smp]) for r in part)
        st = {h: sum(num(r[ix[h]]) for r in part) for h in stalls}
        out[role] = {
            'samples': s, 'inst': sum(num(r[ins]) for r in part),
            'top': sorted(st.items(), key=lambda kv: -kv[1])[:6],
            'depbar': sum(num(r[smp]) for r in part if 'WARPGROUP.DEPBAR' in r[src]),
            'syncs': sum(num(r[smp]) for r in part if 'SYNCS' in r[src]),
            'hgmma': sum(num(r[ins]) for r in part if 'HGMMA' in r[src]),
        }
    return out


def main(path, details=None):
    names = re.findall(r'<0,([^>]+)>', open(details).read()) if details else []
    for i, (kname, hdr, body) in enumerate(kernels(path)):
        tag = names[i] if i < len(names) else kname[:40]
        res = analyse(hdr, body)
        tot = sum(r['samples'] for r in res.values()) or 1
        for role, r in res.items():
            s = r['samples'] or 1
            top = ', '.join(f"{h[6:]} {100 * v / s:.1f}%" for h, v in r['top'] if v)
            extra = ''
            if role == 'consumer':
                extra = f" | DEPBAR {100 * r['depbar'] / s:.1f}% SYNCS {100 * r['syncs'] / s:.1f}% HGMMA inst {r['hgmma']:.0f}"
            print(f"{tag:12s} {role:8s} samples {r['samples']:9.0f} ({100 * r['samples'] / tot:4.1f}%) inst {r['inst']:11.0f}"
                  f" | {top}{extra}")


if __name__ == '__main__':
    main(*sys.argv[1:3])
