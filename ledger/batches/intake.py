"""Reading a batch upload (CSV or JSON) and validating it row by row.

Nothing here touches the database: rows come out as plain dicts, each valid or
with its errors per field, so that one bad row never stops the others.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from typing import Any

from ledger import jsonbody
from ledger.errors import ValidationFailed
from ledger.money import Money, MoneyError
from ledger.screening.text import describe_hidden, hidden_characters

MAX_ROWS = 200_000
FIELDS = (
    "name",
    "national_id",
    "original_script_name",
    "birth_date",
    "account",
    "amount",
    "currency",
    "reference",
)
REQUIRED = ("name", "national_id", "account", "amount", "currency", "reference")
LIMITS = {
    "name": 300,
    "national_id": 64,
    "original_script_name": 300,
    "birth_date": 10,
    "account": 64,
    "reference": 100,
}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NATIONAL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 /-]*\Z")


@dataclass
class RowIn:
    """One row as read: ``line`` is the file's line number (CSV, header = 1) or the
    1-based position in a JSON list; ``errors`` is empty when the row is valid."""

    line: int
    values: dict[str, str | None]
    amount_minor: int | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)

    def refuse(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)


def read_upload(data: bytes) -> list[tuple[int, dict[str, Any]]]:
    """The rows of a CSV (with a header line) or a JSON upload (a list of objects, or
    ``{"rows": [...]}``). A file that cannot be read at all is refused, naming why."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed("file", f"Not UTF-8 text (byte {exc.start}).") from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ValidationFailed("file", f"line {line}: a NUL byte, which no text field may hold.")
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        return _read_json(stripped)
    return _read_csv(text)


def _read_json(text: str) -> list[tuple[int, dict[str, Any]]]:
    doc = jsonbody.load(text, "file")
    rows = doc.get("rows") if isinstance(doc, dict) else doc
    if not isinstance(rows, list):
        raise ValidationFailed("file", 'JSON must be a list of rows, or {"rows": [...]}.')
    _check_size(len(rows))
    return [(i, r if isinstance(r, dict) else {"_": r}) for i, r in enumerate(rows, start=1)]


def _read_csv(text: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    twice = sorted({f for f in header if header.count(f) > 1})
    if twice:
        raise ValidationFailed(
            "file", f"The CSV header (line 1) names a column twice: {', '.join(twice)}."
        )
    missing = [f for f in REQUIRED if f not in header]
    if missing:
        raise ValidationFailed("file", f"The CSV header (line 1) lacks: {', '.join(missing)}.")
    rows: list[tuple[int, dict[str, Any]]] = []
    try:
        for record in reader:
            _check_size(len(rows) + 1)
            rows.append((reader.line_num, record))
    except csv.Error as exc:
        raise ValidationFailed("file", f"line {reader.line_num}: {exc}.") from None
    return rows


def _check_size(count: int) -> None:
    if count > MAX_ROWS:
        raise ValidationFailed("file", f"A batch has at most {MAX_ROWS:,} rows.")


def validate_rows(rows: list[tuple[int, dict[str, Any]]], currency: str) -> list[RowIn]:
    """Validate every row; within the file, a reference used by an earlier row makes
    the later row invalid (the first one stands)."""
    out: list[RowIn] = []
    seen: dict[str, int] = {}
    for line, raw in rows:
        row = _validate(line, raw, currency)
        ref = row.values.get("reference")
        if ref and not row.errors:
            if ref in seen:
                row.refuse("reference", f"Duplicate of line {seen[ref]}: paid once only.")
            else:
                seen[ref] = line
        out.append(row)
    return out


def _birth_date_ok(text: str) -> bool:
    try:
        born = dt.date.fromisoformat(text) if len(text) == 10 else dt.date(int(text), 1, 1)
    except ValueError:
        return False
    return len(text) in (4, 10) and dt.date(1900, 1, 1) <= born <= dt.date.today()


def _validate(line: int, raw: dict[str, Any], currency: str) -> RowIn:
    row = RowIn(line, {})
    unknown = sorted(k for k in raw if k not in FIELDS and k is not None)
    if None in raw:
        row.refuse("_row", "More values than the header has columns.")
    for key in unknown:
        row.refuse(str(key), "Unknown field.")
    for name in FIELDS:
        value = raw.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            row.values[name] = None
            if name in REQUIRED:
                row.refuse(name, "Missing data for required field.")
            continue
        if not isinstance(value, str):
            row.values[name] = None
            row.refuse(name, "Must be a string.")
            continue
        value = value.strip()
        row.values[name] = value
        limit = LIMITS.get(name)
        if limit and len(value) > limit:
            row.refuse(name, f"At most {limit} characters.")
        if _CONTROL.search(value):
            row.refuse(name, "Must not contain control characters.")
        else:
            hidden = hidden_characters(value)
            if hidden:
                row.refuse(name, describe_hidden(hidden))
    nid = row.values.get("national_id")
    if nid and not _NATIONAL_ID.match(nid):
        row.refuse("national_id", "Letters, digits, spaces, '/' and '-' only.")
    born = row.values.get("birth_date")
    if born and not _birth_date_ok(born):
        row.refuse("birth_date", "A birth date (YYYY-MM-DD) or year (YYYY), from 1900 to today.")
    row_currency = row.values.get("currency")
    if row_currency and row_currency != currency:
        row.refuse("currency", f"The batch is paid in {currency}.")
    amount = row.values.get("amount")
    if amount and row_currency == currency:
        try:
            money = Money.parse(amount, currency)
        except MoneyError as exc:
            row.refuse("amount", str(exc))
        else:
            if money.minor <= 0:
                row.refuse("amount", "Must be more than zero.")
            else:
                row.amount_minor = money.minor
    return row
