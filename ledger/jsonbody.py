"""Reading JSON that anyone may send: a request body, an uploaded batch file.

Python's ``json.loads`` fails in ways the ledger must answer as bad input, not as
a crash: nesting deep enough to exhaust the interpreter's recursion (a body of
``[[[[…]]]]``), an integer of more than 4,300 digits (``sys.int_max_str_digits``),
and a lone surrogate (``"\\ud800"``), which decodes to a string no database can
store. ``load`` refuses each with ``ValidationFailed`` naming the field and the
rule, before anything is written.
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


def load(text: str, field: str) -> Any:
    """The JSON value of ``text``, or ``ValidationFailed`` on ``field`` naming what
    is wrong with it."""
    if depth(text) > MAX_DEPTH:
        raise ValidationFailed(field, f"JSON nested deeper than {MAX_DEPTH} levels.")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(field, f"Not valid JSON: line {exc.lineno}: {exc.msg}.") from None
    except ValueError as exc:  # an integer beyond int_max_str_digits
        raise ValidationFailed(field, f"Not a number the ledger reads: {exc}.") from None
    bad = _lone_surrogate(value)
    if bad is not None:
        raise ValidationFailed(
            bad or field, "Text holds a lone UTF-16 surrogate (\\ud800-\\udfff), not a character."
        )
    return value


def _lone_surrogate(value: Any, path: str = "") -> str | None:
    """The path of the first string (key or value) holding a lone surrogate, or
    None. ``""`` is the whole document."""
    if isinstance(value, str):
        return path if _LONE_SURROGATE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if _LONE_SURROGATE.search(key):
                return path
            found = _lone_surrogate(item, where)
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _lone_surrogate(item, f"{path}.{i}" if path else str(i))
            if found is not None:
                return found
    return None
