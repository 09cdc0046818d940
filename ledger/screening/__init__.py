"""Restricted-party screening: watchlist parsing and name matching.

``score_names(a, b)`` is the public, pure pair score in [0, 1] that auditors and
benchmarks call directly; ``score_names(a, b) >= REVIEW_THRESHOLD`` is exactly the
rule that opens a review case for a pair of names. See docs/screening.md.
"""

from ledger.screening.names import (
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
    "EntryMatch",
    "NameIndex",
    "score_entry",
    "score_names",
]
