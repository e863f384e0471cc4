# Per-tile producer prologue of a kernel's SASS (sass.sh output): from the top of the producer's tile loop (the
# outermost backward loop before the consumers' USETMAXREG.TRY_ALLOC) to the first UTMALDG (the tile's first K
# box / tile), straight-line: instruction count, the global loads (LDG) on the way and their order.
#   python3 prologue.py X.sass [...]
import re, sys
sys.path.insert(0, __import__('os').path.dirname(__import__('os').path.abspath(__file__)))
from loops import parse, op
def main(path):
    ins, labels = parse(path)
    ta = next(a for a, t in ins if 'USETMAXREG.TRY_ALLOC' in t)
    loops = []
    for a, t in ins:
        if a >= ta: break
        m = re.search(r'BRA.*?\((\.L_x_\d+)\)', t)
        if m and labels[m.group(1)] < a: loops.append((labels[m.group(1)], a))
    s, e = max(loops, key=lambda se: se[1] - se[0])
    body = [(a, t) for a, t in ins if s <= a <= e]
    n, ldg = 0, []
    for a, t in body:
        n += 1
        o = op(t)
        if o.startswith('LDG') or o.startswith('LD.') or o.startswith('LDC'):
            ldg.append(f'{n}:{o}')
        if o.startswith('UTMALDG'):
            break
    print(path.split('/')[-1][:70], f'tile loop {s:#x}-{e:#x} ({len(body)} instr); to first UTMALDG: {n} instr,',
          f'{sum(1 for x in ldg if ":LDG" in x)} LDG:', ' '.join(ldg))
if __name__ == '__main__':
    for p in sys.argv[1:]:
        main(p)
