"""Generate ``ledger/screening/name_frequencies.py``: how many list entries
carry each name part, for the matcher's weighting of common parts.

Run from the repository root: ``python benchmarks/screening/make_frequencies.py``.
Counts, over UN 2026 + OFAC SDN 2019 + OFAC consolidated (every name of an
entry: primary, aliases, original script), the entries whose names have a
part with a given folded key (Latin-script names; Arabic and Hebrew parts are
not counted: their consonant skeletons collide too often). Only parts on more
than ``MIN_ENTRIES`` entries are written: the matcher treats every other part
as rare. The output is committed
so that ``score_names`` stays pure and deterministic; rerun this when the
lists or the part analysis (``normalize_name``) change, and bump
``MATCHER_VERSION`` with it.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lists import ROOT, all_entries, load_lists

from ledger.screening.names import _entry_names, _is_full_part, normalize_name
from ledger.screening.sources import ListEntry

OUT = ROOT / "ledger" / "screening" / "name_frequencies.py"
MIN_ENTRIES = 5  # parts on at most this many entries count as rare (weight 1)

HEADER = '''"""How common name parts are on the screening lists (generated: do not edit).

Written by ``benchmarks/screening/make_frequencies.py`` from
{sources} ({entries} entries): for each name part, the
number of entries whose names have it, by the part's folded key (Latin
script). Parts on {min_entries} entries or fewer are left out (rare).
``ledger.screening.names`` weighs Latin-script name parts by these counts.
"""

ENTRIES = {entries}
MIN_ENTRIES = {min_entries}

'''


def count(entries: list[ListEntry]) -> Counter[str]:
    keys: Counter[str] = Counter()
    for entry in entries:
        entry_keys: set[str] = set()
        for name, _ in _entry_names(entry):
            normalized = normalize_name(name)
            if normalized.arabic:
                continue
            entry_keys.update(t.key for t in normalized.tokens if _is_full_part(t))
        keys.update(entry_keys)
    return keys


def table(name: str, comment: str, counts: Counter[str]) -> str:
    rows = sorted((k, n) for k, n in counts.items() if n > MIN_ENTRIES)
    body = "".join(f'    "{k}": {n},\n' for k, n in rows)
    return f"#: {comment}\n{name}: dict[str, int] = {{\n{body}}}\n"


def main() -> None:
    lists = load_lists()
    entries = all_entries(lists)
    keys = count(entries)
    sources = "UN 2026 + OFAC SDN 2019 + OFAC consolidated"
    text = HEADER.format(sources=sources, entries=len(entries), min_entries=MIN_ENTRIES)
    text += table("PART_ENTRIES", "folded key of a Latin-script part -> entries", keys)
    OUT.write_text(text, encoding="utf-8")
    print(f"{OUT}: {len(entries)} entries, {sum(n > MIN_ENTRIES for n in keys.values())} parts")


if __name__ == "__main__":
    main()
