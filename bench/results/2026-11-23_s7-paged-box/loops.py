# Loops of the producer region (before the consumers' USETMAXREG.TRY_ALLOC) of a kernel's SASS: python3 loops.py X.sass
import re, sys, collections
def parse(path):
    ins, labels, pend = [], {}, []
    for line in open(path):
        m = re.match(r'^(\.L_x_\d+):', line)
        if m: pend.append(m.group(1)); continue
        m = re.match(r'\s+/\*([0-9a-f]+)\*/\s+(.*?)\s*;', line)
        if m:
            a = int(m.group(1), 16)
            for l in pend: labels[l] = a
            pend = []
            ins.append((a, m.group(2).strip()))
    return ins, labels
def op(t):
    w = t.split()
    return w[1] if w[0].startswith('@') else w[0]
def main(path):
    ins, labels = parse(path)
    ta = next(a for a, t in ins if 'USETMAXREG.TRY_ALLOC' in t)
    loops = []
    for a, t in ins:
        if a >= ta: break
        m = re.search(r'BRA.*?\((\.L_x_\d+)\)', t)
        if m and labels[m.group(1)] < a: loops.append((labels[m.group(1)], a))
    print(path.split('/')[-1][:80], 'total', len(ins), 'producer region', sum(1 for a, _ in ins if a < ta))
    for s, e in loops:
        body = [t for a, t in ins if s <= a <= e]
        c = collections.Counter(op(t) for t in body)
        print(f'  loop {s:#x}-{e:#x}: {len(body)} instr; UTMALDG {c["UTMALDG.4D"]+c["UTMALDG.3D"]+c["UTMALDG.2D"]} LDGSTS {sum(v for k,v in c.items() if "LDGSTS" in k)} SHFL {sum(v for k,v in c.items() if "SHFL" in k)} BRA {sum(v for k,v in c.items() if k.startswith("BRA"))} STL {c["STL"]} LDL {c["LDL"]} BRA.U.ANY {c["BRA.U.ANY"]}')
if __name__ == '__main__':
    main(sys.argv[1])
