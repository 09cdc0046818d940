"""Load the real watchlists for the screening benchmark (shared by run.py and
make_data.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ledger.screening.sources import (  # noqa: E402
    ListEntry,
    ParsedList,
    parse_ofac_csv,
    parse_un_xml,
)

HERE = Path(__file__).resolve().parent


def shared_data() -> Path:
    """``../shared/data`` beside the repository, or ``$LEDGER_SHARED_DATA``."""
    override = os.environ.get("LEDGER_SHARED_DATA")
    return Path(override) if override else ROOT.parent / "shared" / "data"


def _ofac(folder: Path, *, consolidated: bool) -> ParsedList:
    files = {p.name: p.read_bytes() for p in folder.iterdir() if p.suffix == ".csv"}
    return parse_ofac_csv(files, consolidated=consolidated)


def load_lists() -> dict[str, ParsedList]:
    """UN 2026 + OFAC SDN 2019 + OFAC consolidated: the full lists."""
    w = shared_data() / "watchlists"
    return {
        "un": parse_un_xml((w / "un_consolidated_2026-02-27.xml").read_bytes()),
        "ofac-sdn": _ofac(w / "ofac_sdn_2019", consolidated=False),
        "ofac-cons": _ofac(w / "ofac_consolidated", consolidated=True),
    }


def all_entries(lists: dict[str, ParsedList]) -> list[ListEntry]:
    return [e for parsed in lists.values() for e in parsed.entries]
