"""Text that shows what it says: one reading of a name for storage and matching.

A name can hide from a reader or from the matcher in ways a person never sees:
characters that print nothing (zero-width spaces, word joiners, soft hyphens,
fillers, variation selectors, tag characters), controls that reorder what is
shown (U+202E RIGHT-TO-LEFT OVERRIDE makes ``IRUD-LA`` display as ``AL-DURI``),
letters spaced or dotted apart (``I Z Z A T``, ``I.Z.Z.A.T.``) and words split
into syllables by hyphens (``Iz-zat``).

``hidden_characters`` is the storage rule: the API and batch uploads refuse text
that holds any of them, naming the field, the code point and its name. ZWNJ and
ZWJ between two letters of a joining script (Persian ``‌``, Indic conjuncts) are
writing, not hiding, and are allowed there.

``readable`` is the matcher's reading (``names.normalize_name`` starts with it):
overrides resolved into the order a reader sees, hidden characters dropped,
spaced letters and syllables joined into the words they spell. List names pass
through it too, so both sides are read alike.
"""

from __future__ import annotations

import itertools
import re
import unicodedata

# Controls that change the order text is shown in.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Letters and marks that print as nothing, though Unicode does not class them as
# format characters: Hangul fillers, the braille blank, the combining grapheme
# joiner, Mongolian vowel separator and free variation selectors.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f\u180e\u180b\u180c\u180d\u180f")
_JOINERS = frozenset("\u200c\u200d")  # ZWNJ, ZWJ


def _hidden(char: str) -> bool:
    if char in _BIDI or char in _BLANK_LETTERS:
        return True
    code = ord(char)
    if 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF:  # variation selectors
        return True
    category = unicodedata.category(char)
    if category in ("Cf", "Co", "Cn", "Zl", "Zp"):
        return True
    return category == "Cc" and char not in "\t\n\r"


def _writing_joiner(text: str, at: int) -> bool:
    """A ZWNJ or ZWJ between two letters outside Latin, Greek and Cyrillic (the
    scripts that join their letters, where these shape the writing)."""
    if text[at] not in _JOINERS or at == 0 or at == len(text) - 1:
        return False
    before, after = text[at - 1], text[at + 1]
    return all(c.isalpha() and ord(c) > 0x052F for c in (before, after))


def hidden_characters(text: str) -> list[tuple[int, str]]:
    """The invisible and reordering characters in ``text``, as (position, char)."""
    return [(i, c) for i, c in enumerate(text) if _hidden(c) and not _writing_joiner(text, i)]


def describe_hidden(found: list[tuple[int, str]]) -> str:
    """``found`` (``hidden_characters``) in words, for a validation error."""
    shown = ", ".join(
        f"U+{ord(c):04X} {unicodedata.name(c, 'UNASSIGNED')} at {i + 1}" for i, c in found[:3]
    )
    more = f" and {len(found) - 3} more" if len(found) > 3 else ""
    return (
        f"Holds characters that print nothing or reorder the text ({shown}{more}): "
        "a name must show what it says."
    )


_OVERRIDE = re.compile("\u202e([^\u202c\u202d]*)\u202c?")
_LETTER = r"[^\W\d_]"
# Runs of three or more single letters, each followed by one separator: dots
# (I.Z.Z.A.T.; S.A. and C.V., two letters, stay the legal forms they are), a dot
# and a hyphen (A.L.-D.U.R.I.), spaces or hyphens (I Z Z A T).
_DOTTED = re.compile(rf"(?<!\w){_LETTER}(?:\.-?{_LETTER}(?!\w)){{2,}}\.?")
# Dotted initials with spaces (J. R. R. Tolkien) stay initials; four or more are a
# word spelled out (I. Z. Z. A. T.).
_DOT_SPACED = re.compile(rf"(?<!\w){_LETTER}(?:\. -?{_LETTER}(?!\w)){{3,}}\.?")
_SPACED = re.compile(rf"(?<!\w){_LETTER}(?:[ \-\u00b7]{_LETTER}(?!\w)){{2,}}")
_SYLLABLES = re.compile(rf"(?<![\w-]){_LETTER}+(?:-{_LETTER}+)+(?![\w-])")


def _join_letters(match: re.Match[str]) -> str:
    run = match.group()
    word = "".join(c if c.isalpha() else ("-" if c == "-" else "") for c in run)
    return re.sub(r"-+", "-", word).strip("-")


# Particles of Arabic and Berber names: a hyphenated word in which one comes before
# a part of three letters or more is a name written with its particles.
_PARTICLES = frozenset(
    {"al", "el", "ad", "an", "ar", "as", "ash", "at", "az", "ul"}
    | {"bin", "ibn", "bint", "ben", "abu", "abd", "umm", "bou", "ait"}
)


def _join_syllables(match: re.Match[str]) -> str:
    """``Ib-ra-him`` and ``al-Du-ri`` are one word; ``Al-Duri``, ``Abu-Ali``,
    ``Shi-Fu`` and ``Smith-Jones`` stay as written (two pieces are how many names
    are written). A hyphenated word of three or more pieces is joined whole
    unless a particle comes before a part of three letters or more
    (``Bin-al-Walid``, ``Abd-al-Rahman`` stay); a fused article the matcher drops
    where the lists know the rest as a name part (``alDuri``)."""
    pieces = match.group().split("-")
    if len(pieces) < 3 or any(
        piece.lower() in _PARTICLES and len(following) >= 3
        for piece, following in itertools.pairwise(pieces)
    ):
        return match.group()  # Bin-al-Walid, Abd-al-Rahman: particles, not syllables
    return "".join(pieces)


def readable(text: str) -> str:
    """``text`` as a reader sees it, for matching: overridden runs in the order
    shown, hidden characters dropped, spaced letters and syllables joined."""
    if "\u202e" in text:
        text = _OVERRIDE.sub(lambda m: m.group(1)[::-1], text)
    if any(_hidden(c) for c in text):
        text = "".join(c for c in text if not _hidden(c))
    text = _DOTTED.sub(_join_letters, text)
    text = _DOT_SPACED.sub(_join_letters, text)
    text = _SPACED.sub(_join_letters, text)
    if "-" in text:
        text = _SYLLABLES.sub(_join_syllables, text)
    return text
