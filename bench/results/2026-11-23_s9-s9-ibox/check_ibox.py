"""Before the GPU tests of next_call.sh: every variant in the switched artifact directory DIR is up to date against the
snapshot's kernel sources and is the one the API loads (DIR = $CUTE_ATTN_ARTIFACTS, searched first), so no test runs
an unswitched kernel of the default directory in its place.   CUTE_ATTN_ARTIFACTS=DIR python3 check_ibox.py DIR N"""
import os
import sys

from cute_attn.artifacts import Manifest, find_artifact
from cute_attn.specs import PrefillPagedSpec


def main(directory: str, expected: int) -> int:
    if os.path.realpath(os.environ.get("CUTE_ATTN_ARTIFACTS", "")) != os.path.realpath(directory):
        print(f"CUTE_ATTN_ARTIFACTS must be {directory}")
        return 1
    m = Manifest.read(directory, "sm_90a")
    bad = 0
    for name, e in sorted(m.entries.items()):
        spec = PrefillPagedSpec(**e["fields"]) if e["op"] == "prefill_paged" else None
        if spec is None or spec.name != name:
            print(f"unexpected entry {name}")
            bad += 1
            continue
        path, seen = find_artifact(spec)
        where = os.path.dirname(os.path.realpath(path)) if path else None
        ok = where == os.path.realpath(directory)
        bad += not ok
        print(f"{'ok ' if ok else 'BAD'} {name} -> {path} {seen if not ok else ''}")
    print(f"{len(m.entries)} entries (expected {expected}), {bad} bad")
    return 0 if bad == 0 and len(m.entries) == expected else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2])))
