"""Builds the package. Everything is in pyproject.toml but one step: mypyc compiles
``ledger/screening/scoring.py``, the per-pair part of name matching, to a C
extension beside it (the same source, the same answers, faster; see
docs/screening.md, "Compiled scoring"), and writes the SHA-256 of the source it
compiled to ``scoring.sha256``: `ledger.screening` uses the compiled module only
while the source still has that hash. ``LEDGER_PURE_PYTHON=1`` skips the step: the
source then runs as it is, only slower."""

import hashlib
import os
from pathlib import Path

from setuptools import Extension, setup

SCORING = Path("ledger/screening/scoring.py")


def compiled() -> list[Extension]:
    if os.environ.get("LEDGER_PURE_PYTHON"):
        return []
    from mypyc.build import mypycify

    digest = hashlib.sha256(SCORING.read_bytes()).hexdigest()
    SCORING.with_suffix(".sha256").write_text(digest + "\n")
    # Only this module is compiled; the modules it imports are read, not compiled.
    return mypycify(["--follow-imports=skip", str(SCORING)], opt_level="3")


setup(ext_modules=compiled())
