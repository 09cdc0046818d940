"""Reading JSON that anyone may send: a request body, an uploaded batch file.

Python's ``json.loads`` fails in ways the ledger must answer as bad input, not as
a crash: nesting deep enough to exhaust the interpreter's recursion (a body of
``[[[[…]]]]``), an integer of more than 4,300 digits (``sys.int_max_str_digits``;
any integer longer than a BIGINT is refused here, naming its field), and a lone
surrogate (``"\\ud800"``), which decodes to a string no database can store.
``load`` refuses each with ``ValidationFailed`` naming the field and the rule,
before anything is written.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ledger.errors import ValidationFailed

#: How deep objects and lists may nest. The deepest body the API takes is three
#: levels (a payee's related parties' aliases); a batch file, two.
MAX_DEPTH = 32

_BRACKETS_OR_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def depth(text: str) -> int:
    """How deep the brackets of a JSON text nest (brackets inside strings aside);
    stops counting once past ``MAX_DEPTH``."""
    level = deepest = 0
    for match in _BRACKETS_OR_STRINGS.finditer(text):
        token = match.group()
        if token in "[{":
            level += 1
            if level > deepest:
                deepest = level
                if deepest > MAX_DEPTH:
                    return deepest
        elif token in "]}":
            level -= 1
    return deepest


# Longer than any integer the ledger stores (a BIGINT: 19 digits and a sign).
_MAX_INT_CHARS = 20
_SURROGATE_RULE = "Text holds a lone UTF-16 surrogate (\\ud800-\\udfff), not a character."
_HUGE_RULE = "An integer beyond the largest the ledger stores (2**63 - 1)."


class _TooLong:
    """Stands for an integer literal too long to be anything the ledger stores,
    so that the field holding it is named (``int()`` would refuse it only past
    4,300 digits, and without saying where)."""

    __slots__ = ()


_TOO_LONG = _TooLong()


def _parse_int(literal: str) -> int | _TooLong:
    return int(literal) if len(literal) <= _MAX_INT_CHARS else _TOO_LONG


def load(text: str, field: str) -> Any:
    """The JSON value of ``text``, or ``ValidationFailed`` on ``field`` (or on the
    path inside it, such as ``related_parties.0.name``) naming what is wrong."""
    if depth(text) > MAX_DEPTH:
        raise ValidationFailed(field, f"JSON nested deeper than {MAX_DEPTH} levels.")
    try:
        value = json.loads(text, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(field, f"Not valid JSON: line {exc.lineno}: {exc.msg}.") from None
    bad = _first_bad(value)
    if bad is not None:
        path, rule = bad
        raise ValidationFailed(path or field, rule)
    return value


def _first_bad(value: Any, path: str = "") -> tuple[str, str] | None:
    """The path of the first value the ledger cannot take (a string or key holding
    a lone surrogate, an integer too long to store) and the rule it breaks, or
    None. ``""`` is the whole document."""
    if isinstance(value, str):
        return (path, _SURROGATE_RULE) if _LONE_SURROGATE.search(value) else None
    if value is _TOO_LONG:
        return path, _HUGE_RULE
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if _LONE_SURROGATE.search(key):
                return path, _SURROGATE_RULE
            found = _first_bad(item, where)
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _first_bad(item, f"{path}.{i}" if path else str(i))
            if found is not None:
                return found
    return None
