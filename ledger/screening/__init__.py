"""Restricted-party screening: watchlist parsing and name matching.

``score_names(a, b)`` is the public, pure pair score in [0, 1] that auditors and
benchmarks call directly; ``score_names(a, b) >= REVIEW_THRESHOLD`` is exactly the
rule that opens a review case for a pair of names. See docs/screening.md.

`ledger.screening.scoring` is compiled to C by mypyc when the package is installed
where a C compiler works (setup.py; elsewhere the install leaves it as Python).
Before anything imports it, this package makes sure that the module in use is the
source as it is now: a compiled copy is used only when it was built from exactly
this ``scoring.py`` (its SHA-256, which the build writes beside the extension),
otherwise the source is loaded and a warning says to rebuild.
``LEDGER_PURE_PYTHON=1`` loads the source whatever is there. `SCORING_COMPILED`
says which one runs.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import warnings
from importlib.machinery import SourceFileLoader
from pathlib import Path

_SCORING = "ledger.screening.scoring"
_HERE = Path(__file__).resolve().parent
#: The SHA-256 of the source compiled, written by setup.py beside the extension it
#: builds: in the installed package, or here in the source tree (git-ignored) for an
#: editable install, whose extension is built in place.
BUILT_FROM = _HERE / "scoring.sha256"


def load_scoring_source(name: str = _SCORING) -> object:
    """``scoring.py`` run as Python, as module ``name`` (registered in ``sys.modules``).
    Also how the tests put the compiled module beside its source."""
    loader = SourceFileLoader(name, str(_HERE / "scoring.py"))
    spec = importlib.util.spec_from_loader(name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


def _choose_scoring() -> bool:
    """Load the scoring module to use; whether it is the compiled one."""
    spec = importlib.util.find_spec(_SCORING)
    if spec is None or spec.origin is None or spec.origin.endswith(".py"):
        return False  # not compiled (no working compiler or LEDGER_PURE_PYTHON at install)
    if os.environ.get("LEDGER_PURE_PYTHON"):
        load_scoring_source()
        return False
    source = hashlib.sha256((_HERE / "scoring.py").read_bytes()).hexdigest()
    built = BUILT_FROM.read_text().strip() if BUILT_FROM.is_file() else ""
    if built != source:
        warnings.warn(
            f"{spec.origin} was not compiled from scoring.py as it is now: running the"
            " source instead (slower). Rebuild with `make` (or `pip install -e .`).",
            RuntimeWarning,
            stacklevel=2,
        )
        load_scoring_source()
        return False
    return True


#: Whether name scoring runs compiled (mypyc) or as Python source.
SCORING_COMPILED = _choose_scoring()

from ledger.screening.names import (  # noqa: E402  (after the choice above)
    MATCHER_VERSION,
    REVIEW_THRESHOLD,
    EntryMatch,
    NameIndex,
    score_entry,
    score_names,
)

__all__ = [
    "MATCHER_VERSION",
    "REVIEW_THRESHOLD",
    "SCORING_COMPILED",
    "EntryMatch",
    "NameIndex",
    "score_entry",
    "score_names",
]
