# Consumer region (from the consumers' USETMAXREG.TRY_ALLOC on) of a kernel's SASS (sass.sh output): every backward
# loop with its size and opcode counts, plus the region's totals. python3 cons.py X.sass [Y.sass ...]
import collections, re, sys
sys.path.insert(0, __import__('os').path.dirname(__import__('os').path.abspath(__file__)))
from loops import parse, op
KEYS = ('HGMMA', 'WARPGROUP.DEPBAR', 'WARPGROUP.ARRIVE', 'MUFU.EX2', 'FMNMX', 'FMUL', 'FFMA', 'FADD', 'F2FP',
        'SYNCS', 'BAR', 'STL', 'LDL', 'SHFL', 'VOTE', 'BRA', 'LDG', 'STS', 'STG', 'UTMASTG', 'FSEL', 'ISETP')
def fam(o):
    for k in KEYS:
        if o == k or o.startswith(k + '.'):
            return k
    return None
def summary(body):
    c = collections.Counter(fam(op(t)) for t in body)
    return ' '.join(f'{k} {c[k]}' for k in KEYS if c[k])
def main(path):
    ins, labels = parse(path)
    ta = next(a for a, t in ins if 'USETMAXREG.TRY_ALLOC' in t)
    cons = [(a, t) for a, t in ins if a >= ta]
    print(path.split('/')[-1][:70], 'consumer region', len(cons), '|', summary([t for _, t in cons]))
    for a, t in cons:
        m = re.search(r'BRA.*?\((\.L_x_\d+)\)', t)
        if m and labels[m.group(1)] < a and labels[m.group(1)] >= ta:
            s = labels[m.group(1)]
            body = [x for y, x in ins if s <= y <= a]
            if len(body) > 40:
                print(f'  loop {s:#x}-{a:#x}: {len(body)} instr | {summary(body)}')
if __name__ == '__main__':
    for p in sys.argv[1:]:
        main(p)
