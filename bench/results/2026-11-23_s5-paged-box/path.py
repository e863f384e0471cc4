"""Walk warp W's path through the box producer's steady-state key-block loop (the loop with the most UTMALDG
inside the per-tile loop): conditional branches resolved by rules, printed for review."""
import re, sys
sys.path.insert(0, __import__('os').path.dirname(__import__('os').path.abspath(__file__)))
from loops import parse
def main(path, warp=0, box_warps=4, verbose=False):
    ins, labels = parse(path)
    addr = [a for a, _ in ins]; txt = dict(ins)
    ta = next(a for a, t in ins if 'USETMAXREG.TRY_ALLOC' in t)
    loops = []
    for a, t in ins:
        if a >= ta: break
        m = re.search(r'BRA.*?\((\.L_x_\d+)\)', t)
        if m and labels[m.group(1)] < a: loops.append((labels[m.group(1)], a))
    # the per-block loop: most UTMALDG, not the outermost
    cand = sorted(loops, key=lambda se: se[1] - se[0])
    s, e = max([l for l in cand if l != cand[-1]], key=lambda se: sum('UTMALDG' in txt[a] for a in addr if se[0] <= a <= se[1]))
    pos = addr.index(s); n = 0; seen = 0; log = []
    while True:
        a = addr[pos]; t = txt[a]; n += 1
        if a == e: break
        m = re.search(r'BRA.*?\((\.L_x_\d+)\)', t)
        if m:
            tgt = labels[m.group(1)]
            cond = t.startswith('@')
            if not cond:
                take = True; why = 'uncond'
            else:
                prev = txt[addr[pos - 1]]
                skipped = [txt[x] for x in addr if a < x < tgt] if tgt > a else []
                sh = [re.search(r'SHFL\.IDX PT, R\d+, R\d+, (0x[0-9a-f]+|RZ|R\d+)', x) for x in skipped[:4]]
                sh = [x for x in sh if x]
                pred = re.match(r'@!?(U?P\d)', t).group(1)
                recent = [txt[addr[k]] for k in range(max(0, pos - 24), pos)]
                writer = next((x for x in reversed(recent) if re.search(r'\b' + pred + r'\b', x.split(',')[0] if not x.startswith('@') else x.split(None, 1)[1].split(',')[0])), '')
                if writer.startswith('ELECT'):
                    take = False; why = 'elected lane issues'
                elif 'TRYWAIT' in prev or 'TRYWAIT' in txt[addr[pos - 2]]:
                    take = False; why = 'wait done'
                elif tgt > a and any('UTMALDG' in x for x in skipped[:40]) and sh and (sh[0].group(1) == 'RZ' or sh[0].group(1).startswith('0x')):
                    lane = 0 if sh[0].group(1) == 'RZ' else int(sh[0].group(1), 16)
                    take = lane % box_warps != warp; why = f'box {lane}'
                elif tgt > a and any('LDGSTS' in x for x in skipped) :
                    take = True; why = 'skip tail gather'
                elif tgt > a and any('UTMALDG' in x for x in skipped[:40]):
                    take = False; why = 'issue (runtime box)'
                else:
                    take = None; why = '?'
            log.append((hex(a), t, why, take))
            if take is None:
                take = False
            if take:
                pos = addr.index(tgt); continue
        pos += 1
        if n > 5000: break
    print(f'{path.split("/")[-1][:90]}: loop {s:#x}-{e:#x}, warp {warp} path {n} instructions')
    if verbose:
        for x in log: print('   ', *x)
    return n
if __name__ == '__main__':
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0, int(sys.argv[3]) if len(sys.argv) > 3 else 4, len(sys.argv) > 4)
