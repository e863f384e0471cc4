"""The hot loops of two kernel builds side by side, from their PTX (``python -m cute_attn.build --keep-ptx``), on the
CPU host: ptxas (``.version`` lowered to what it accepts) and ``nvdisasm -c``, then every backward branch whose body
holds wgmma (``HGMMA``) instructions, with its length and the opcodes whose counts differ between the builds.

    python -m bench.sass_hotloop A.ptx B.ptx [--hgmma 32] [--ptxas PATH] [--nvdisasm PATH]

Why (session 12, bench/NOTES-prefill-paged.md 22.2): one build-time change can move a kernel by 1-4 % through the
layout ptxas gives its hot loop (the dense prefill at a 40 / 232 register split: four mbarrier retry paths inlined into
the double-P pair step), so an A/B's first check, before any device time, is whether the consumer loop still is the
same code. nvdisasm / cuobjdump: ``pip download --no-deps nvidia-cuda-nvdisasm`` and unzip; ptxas ships with the CUDA
toolkit (/usr/local/cuda-13.0/bin here).
"""

from __future__ import annotations

import argparse
import collections
import difflib
import os
import re
import subprocess
import tempfile

_INSTR = re.compile(r"\s+/\*([0-9a-f]+)\*/\s+(.*?)\s*;")
_LABEL = re.compile(r"^\s*\.L_x_(\d+):")
_BRANCH = re.compile(r"\bBRA\b.*`\(\.L_x_(\d+)\)")
_PRED = re.compile(r"^@!?U?P[0-9T]+\s+")


def parse(text: str) -> tuple[list[str], dict[str, int]]:
    """Instructions (text, predicate included) of ``nvdisasm -c`` output in order, and label -> instruction index."""
    ins: list[str] = []
    labels: dict[str, int] = {}
    for line in text.splitlines():
        lm = _LABEL.match(line)
        if lm:
            labels[lm.group(1)] = len(ins)
            continue
        m = _INSTR.match(line)
        if m:
            ins.append(m.group(2))
    return ins, labels


def opcode(instr: str) -> str:
    """The opcode with its modifiers, predicate stripped: ``@P0 HGMMA.64x128x16.F32.BF16 R24, ...`` -> ``HGMMA...``."""
    return _PRED.sub("", instr).split()[0]


def loops(ins: list[str], labels: dict[str, int]) -> list[tuple[int, int]]:
    """``(first, last)`` instruction indices of every backward branch's body (label <= branch)."""
    out = []
    for i, t in enumerate(ins):
        m = _BRANCH.search(t)
        if m and m.group(1) in labels and labels[m.group(1)] <= i:
            out.append((labels[m.group(1)], i))
    return out


def hot_loops(ins: list[str], labels: dict[str, int], hgmma: int | None = None) -> list[list[str]]:
    """Bodies of the loops holding wgmma instructions, innermost-first (shortest body per HGMMA count), or only those
    with exactly ``hgmma`` of them."""
    seen = {}
    for first, last in loops(ins, labels):
        body = ins[first:last + 1]
        n = sum(1 for t in body if opcode(t).startswith("HGMMA"))
        if n and (hgmma is None or n == hgmma) and (n not in seen or len(body) < len(seen[n])):
            seen[n] = body
    return [seen[n] for n in sorted(seen)]


def compare(a: list[str], b: list[str]) -> dict:
    """Length, opcode-sequence similarity and the opcodes whose counts differ, of two loop bodies."""
    oa, ob = [opcode(t) for t in a], [opcode(t) for t in b]
    ca, cb = collections.Counter(oa), collections.Counter(ob)
    diff = {k: (ca[k], cb[k]) for k in sorted(set(ca) | set(cb)) if ca[k] != cb[k]}
    return {"len": (len(a), len(b)), "similar": difflib.SequenceMatcher(None, oa, ob, autojunk=False).ratio(),
            "count_diff": diff}


def disassemble(ptx_path: str, ptxas: str, nvdisasm: str, arch: str = "sm_90a") -> str:
    """SASS text of a PTX file (its ``.version`` line lowered to 9.0 for older ptxas)."""
    with open(ptx_path) as f:
        ptx = re.sub(r"^\.version .*$", ".version 9.0", f.read(), count=1, flags=re.M)
    with tempfile.TemporaryDirectory() as d:
        src, cubin = os.path.join(d, "k.ptx"), os.path.join(d, "k.cubin")
        with open(src, "w") as f:
            f.write(ptx)
        subprocess.run([ptxas, f"-arch={arch}", src, "-o", cubin], check=True)
        return subprocess.run([nvdisasm, "-c", cubin], check=True, capture_output=True, text=True).stdout


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--hgmma", type=int, help="only the loops with this many HGMMA (e.g. 32: hd128's double-P step)")
    p.add_argument("--ptxas", default="/usr/local/cuda-13.0/bin/ptxas")
    p.add_argument("--nvdisasm", default="nvdisasm")
    args = p.parse_args(argv)
    bodies = []
    for path in (args.a, args.b):
        text = disassemble(path, args.ptxas, args.nvdisasm) if path.endswith(".ptx") else open(path).read()
        bodies.append({sum(1 for t in body if opcode(t).startswith("HGMMA")): body
                       for body in hot_loops(*parse(text), args.hgmma)})
    for n in sorted(set(bodies[0]) | set(bodies[1])):
        if n not in bodies[0] or n not in bodies[1]:
            print(f"{n} HGMMA: only in {'a' if n in bodies[0] else 'b'}")
            continue
        c = compare(bodies[0][n], bodies[1][n])
        print(f"{n} HGMMA: {c['len'][0]} / {c['len'][1]} instructions, opcode sequence {c['similar']:.3f} alike")
        for k, (x, y) in c["count_diff"].items():
            print(f"    {k}: {x} / {y}")


if __name__ == "__main__":
    main()
