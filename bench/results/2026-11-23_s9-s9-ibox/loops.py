# Producer-region loops of a kernel's SASS (before the consumers' USETMAXREG.TRY_ALLOC), counting every UTMALDG
# width (2D-5D; session 5's loops.py counted 2D-4D only, so it misses the 5-d boxes of CUTE_ATTN_PAGED_KV_INTERLEAVE).
#   python3 loops.py X.sass
import collections
import re
import sys


def parse(path):
    ins, labels, pend = [], {}, []
    for line in open(path):
        m = re.match(r'^(\.L_x_\d+):', line)
        if m:
            pend.append(m.group(1))
            continue
        m = re.match(r'\s+/\*([0-9a-f]+)\*/\s+(.*?)\s*;', line)
        if m:
            a = int(m.group(1), 16)
            for label in pend:
                labels[label] = a
            pend = []
            ins.append((a, m.group(2).strip()))
    return ins, labels


def op(t):
    w = t.split()
    return w[1] if w[0].startswith('@') else w[0]


def main(path):
    ins, labels = parse(path)
    ta = next(a for a, t in ins if 'USETMAXREG.TRY_ALLOC' in t)
    prod = [(a, t) for a, t in ins if a < ta]
    tma = collections.Counter(op(t) for _, t in prod if op(t).startswith('UTMALDG'))
    print(path.split('/')[-1][:80], 'total', len(ins), 'producer region', len(prod), 'UTMALDG', dict(tma))
    for a, t in prod:
        m = re.search(r'BRA.*?\((\.L_x_\d+)\)', t)
        if m and labels[m.group(1)] < a:
            s, e = labels[m.group(1)], a
            c = collections.Counter(op(x) for b, x in ins if s <= b <= e)
            n = sum(c.values())
            utm = sum(v for k, v in c.items() if k.startswith('UTMALDG'))
            shfl = sum(v for k, v in c.items() if 'SHFL' in k)
            ldgsts = sum(v for k, v in c.items() if 'LDGSTS' in k)
            print(f'  loop {s:#x}-{e:#x}: {n} instr; UTMALDG {utm} LDGSTS {ldgsts} SHFL {shfl} '
                  f'STL {c["STL"]} LDL {c["LDL"]}')


if __name__ == '__main__':
    for p in sys.argv[1:]:
        main(p)
