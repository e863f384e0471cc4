"""The GPU machine runs this suite without the CuTe DSL (compiled artifacts only): every test module must import
there, or one module's import error stops the whole GPU run at collection (session 15 call 3). Collects the suite
in a subprocess in which ``import cutlass`` fails."""

import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent

_BLOCKED = (
    "import sys; sys.modules['cutlass'] = None\n"
    "import pytest\n"
    "sys.exit(pytest.main(['--collect-only', '-q', '-p', 'no:cacheprovider', {tests!r}]))\n"
)


def test_suite_collects_without_the_dsl():
    r = subprocess.run([sys.executable, "-c", _BLOCKED.format(tests=str(TESTS))], capture_output=True, text=True,
                       cwd=TESTS.parent, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "error" not in r.stdout.splitlines()[-1].lower(), r.stdout[-3000:]
