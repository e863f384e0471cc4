"""Deadlock/order check of the producer orders against the consumer's waits/releases (dp and plain steps)."""
import itertools, random

def consumer(tiles, dp):
    ops, c0 = [], 0
    for n in tiles:
        ops += [("waitK", c0), ("relK", c0)]
        for j in range(1, n):
            if dp and j >= 2:
                ops.append(("relV", c0 + j - 2))
            ops += [("waitK", c0 + j), ("waitV", c0 + j - 1), ("relK", c0 + j)]
            if not dp:
                ops.append(("relV", c0 + j - 1))
        if dp and n > 1:
            ops.append(("relV", c0 + n - 2))
        ops += [("waitV", c0 + n - 1), ("relV", c0 + n - 1)]
        c0 += n
    return ops

def producer(tiles, lead):
    ops, c0 = [], 0
    K = lambda c: [("acqK", c), ("fillK", c)]
    V = lambda c: [("acqV", c), ("fillV", c)]
    for n in tiles:
        if lead == 1:
            ops += K(c0)
            for i in range(n - 1):
                ops += K(c0 + 1 + i) + V(c0 + i)
            ops += V(c0 + n - 1)
        else:
            ops += K(c0)
            if n > 1:
                ops += K(c0 + 1)
                for i in range(n - 2):
                    ops += K(c0 + 2 + i) + V(c0 + i)
                ops += V(c0 + n - 2) + V(c0 + n - 1)
            else:
                ops += V(c0)
        c0 += n
    return ops

def run(tiles, lead, ks, vs, dp):
    P, C = producer(tiles, lead), consumer(tiles, dp)
    # sanity: the producer fills every block's K and V once, in block order per pipeline
    total = sum(tiles)
    assert [c for o, c in P if o == "fillK"] == list(range(total))
    assert [c for o, c in P if o == "fillV"] == list(range(total))
    done = set(); pi = ci = 0
    while pi < len(P) or ci < len(C):
        moved = False
        if pi < len(P):
            o, c = P[pi]
            ok = (o == "acqK" and (c < ks or ("relK", c - ks) in done)) or \
                 (o == "acqV" and (c < vs or ("relV", c - vs) in done)) or o.startswith("fill")
            if ok:
                done.add((o, c)); pi += 1; moved = True
        if ci < len(C):
            o, c = C[ci]
            ok = (o == "waitK" and ("fillK", c) in done) or (o == "waitV" and ("fillV", c) in done) or o.startswith("rel")
            if ok:
                done.add((o, c)); ci += 1; moved = True
        if not moved:
            return False, (P[pi] if pi < len(P) else None, C[ci] if ci < len(C) else None)
    return True, None

random.seed(0)
cases = [[1], [2], [3], [1, 1, 2, 3, 1, 5], [4, 4, 1, 2]] + [[random.randint(1, 7) for _ in range(6)] for _ in range(300)]
for lead, ks, vs in ((1, 2, 2), (1, 3, 2), (2, 3, 2), (2, 2, 2)):
    for dp in (False, True):
        bad = [(t, r) for t in cases for ok, r in [run(t, lead, ks, vs, dp)] if not ok]
        print(f"lead {lead} K{ks} V{vs} dp={dp}: {len(cases) - len(bad)}/{len(cases)} complete", bad[:1])
