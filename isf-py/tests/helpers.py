"""What the tests share: the repository, the ``isf`` binary (``$ISF_BIN``, else
``target/release/isf`` of this repository) and a runner for it."""

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ISF_BIN = os.environ.get("ISF_BIN", str(REPO / "target" / "release" / "isf"))
CELL = "example"  # the name the READMEs' snippets use


def cli(*args, cwd=None):
    """Runs the isf binary; returns its standard output."""
    r = subprocess.run([ISF_BIN, *map(str, args)], cwd=cwd, capture_output=True, text=True)
    assert r.returncode == 0, f"isf {' '.join(map(str, args))} failed:\n{r.stderr}"
    return r.stdout
