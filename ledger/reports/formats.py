"""Rendering a ``ReportData`` as JSON, CSV or XLSX (PDF: ``ledger.reports.pdf``).

Every renderer reads the same rows and totals; none computes a number. Amounts
are exact ``Decimal`` values: JSON and CSV write their decimal text; XLSX writes
numeric cells (see docs/reports.md on exactness) with the currency's format.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ledger.errors import LedgerError
from ledger.money import minor_units
from ledger.reports.registry import Column, ReportData

Progress = Callable[[int], None]

MEDIA_TYPES = {
    "json": "application/json",
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
FORMATS = tuple(MEDIA_TYPES)


def plain(value: Any) -> Any:
    """A JSON/CSV-safe value: decimals and dates as text, never a float."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def header(data: ReportData) -> dict[str, Any]:
    """The context every format prints: which fund, as of when, made when, by whom."""
    seq, digest = data.chain_head
    return {
        "report": data.report.name,
        "title": data.report.title,
        "fund_id": data.fund_id,
        "fund": data.fund_name,
        "base_currency": data.base_currency,
        "as_of": plain(data.as_of),
        "generated_at": plain(data.generated_at),
        "generated_by": data.generated_by,
        "audit_chain_head": {"seq": seq, "hash": digest},
        "latest_checkpoint": None
        if data.checkpoint is None
        else {
            "seq": data.checkpoint[0],
            "hash": data.checkpoint[1],
            "signed_at": plain(data.checkpoint[2]),
        },
    }


def to_jsonable(data: ReportData) -> dict[str, Any]:
    return {
        **header(data),
        "columns": [
            {"key": c.key, "title": c.title, "type": c.kind}
            | ({"currency": c.currency} if c.currency else {})
            for c in data.columns
        ],
        "rows": [{c.key: plain(row.get(c.key)) for c in data.columns} for row in data.rows],
        "totals": [{k: plain(v) for k, v in total.items()} for total in data.totals],
        "notes": _jsonable_notes(data.notes),
    }


def _jsonable_notes(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable_notes(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable_notes(v) for v in value]
    return plain(value)


def render_json(data: ReportData, progress: Progress | None = None) -> bytes:
    return json.dumps(to_jsonable(data), ensure_ascii=False, indent=1).encode()


def render_csv(data: ReportData, progress: Progress | None = None) -> bytes:
    """RFC 4180 CSV in UTF-8 with a byte-order mark (so spreadsheets read non-Latin
    names right), one header row, amounts as plain decimal text with a point and
    no grouping; a leading ``row_type`` column tells data rows from totals rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["row_type", *(c.key for c in data.columns)])
    for i, row in enumerate(data.rows, 1):
        writer.writerow(["data", *(_csv(row.get(c.key), c) for c in data.columns)])
        if progress and i % 1000 == 0:
            progress(1000)
    for total in data.totals:
        writer.writerow(["total", *(_csv(total.get(c.key, ""), c) for c in data.columns)])
    if progress:
        progress(len(data.rows) % 1000)
    return ("\ufeff" + out.getvalue()).encode()


# What a spreadsheet evaluates at the start of a cell (OWASP, "CSV Injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMERIC = frozenset({"int", "money", "percent"})


def inert(text: str) -> str:
    """``text`` as a spreadsheet shows it and never evaluates it: one that begins
    with a formula's first character gets a leading apostrophe (OWASP's advice for
    CSV). A payee named ``=HYPERLINK(…)`` reads as that text, a link to nowhere."""
    return "'" + text if text.startswith(FORMULA_START) else text


def _csv(value: Any, column: Column | None = None) -> Any:
    """A CSV cell: numbers as plain decimal text (a negative amount stays a
    number), any other text made inert."""
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, str) and (column is None or column.kind not in _NUMERIC):
        return inert(value)
    return value


def number_format(column: Column, currency: str | None) -> str | None:
    """The Excel number format of a cell: grouped, the currency's decimals, its code."""
    if column.kind == "money":
        digits = minor_units(currency) if currency else 2
        decimals = "." + "0" * digits if digits else ""
        code = f' "{currency}"' if currency else ""
        return f"#,##0{decimals}{code};-#,##0{decimals}{code}"
    if column.kind == "percent":
        return '0.0"%"'
    if column.kind == "date":
        return "yyyy-mm-dd"
    if column.kind == "datetime":
        return "yyyy-mm-dd hh:mm:ss"
    return None


def render_xlsx(data: ReportData, progress: Progress | None = None) -> bytes:
    """A workbook: the report (numeric cells, currency formats, a frozen header,
    an autofilter, bold totals rows) and an "About" sheet with the context."""
    # No type information ships with openpyxl (types-openpyxl is not a dependency).
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.styles import Border, Font, PatternFill, Side  # type: ignore[import-untyped]
    from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = data.report.title[:31]
    bold = Font(bold=True)
    ws.append([c.title for c in data.columns])
    for cell in ws[1]:
        cell.font = bold
        cell.fill = PatternFill("solid", fgColor="DDE4EE")
    ws.freeze_panes = "A2"
    for i, row in enumerate(data.rows, 1):
        ws.append([_cell(c, row.get(c.key)) for c in data.columns])
        _format_row(ws, ws.max_row, data, row)
        if progress and i % 1000 == 0:
            progress(1000)
    last_data_row = ws.max_row
    top = Border(top=Side(style="thin"))
    for total in data.totals:
        cells = [_cell(c, total.get(c.key)) for c in data.columns]
        cells[0] = total["label"] if cells[0] is None else cells[0]
        ws.append(cells)
        _format_row(ws, ws.max_row, data, total)
        for cell in ws[ws.max_row]:
            cell.font = bold
            cell.border = top
    ws.auto_filter.ref = f"A1:{get_column_letter(len(data.columns))}{max(last_data_row, 1)}"
    for i, column in enumerate(data.columns, 1):
        width = 14 if column.kind in ("money", "datetime") else 10
        if column.kind == "text":
            width = 24
        ws.column_dimensions[get_column_letter(i)].width = width + (6 if column.currency else 0)
    about = wb.create_sheet("About")
    for key, value in header(data).items():
        if key == "audit_chain_head":
            about.append(["audit_chain_seq", value["seq"]])
            about.append(["audit_chain_hash", value["hash"]])
        elif key == "latest_checkpoint":
            for part, text in (value or {"seq": "none signed yet"}).items():
                about.append([f"latest_checkpoint_{part}", text])
        else:
            about.append([key, value])
    for key, value in _flat_notes(data.notes):
        about.append([key, value])
    for n, text in enumerate(data.report.explanation, 1):
        about.append([f"how_to_read_{n}", text])
    about.column_dimensions["A"].width = 24
    about.column_dimensions["B"].width = 70
    if progress:
        progress(len(data.rows) % 1000)
    for sheet in wb.worksheets:
        _text_stays_text(sheet)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _text_stays_text(sheet: Any) -> None:
    """No cell becomes a formula from data: openpyxl stores a string that begins
    with ``=`` as a formula; such a cell is stored as the text it is."""
    for row in sheet.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"


def _flat_notes(notes: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    flat: list[tuple[str, Any]] = []
    for key, value in notes.items():
        if isinstance(value, dict):
            flat.extend(_flat_notes(value, f"{prefix}{key}."))
        else:
            flat.append((prefix + key, plain(value)))
    return flat


def _cell(column: Column, value: Any) -> Any:
    value = column.shown(value)
    if isinstance(value, dt.datetime):
        # Excel has no time zones: write UTC, naive (the header says so).
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if column.kind == "datetime" and isinstance(value, str):
        return dt.datetime.fromisoformat(value).astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _format_row(ws: Any, row_number: int, data: ReportData, row: dict[str, Any]) -> None:
    for i, column in enumerate(data.columns, 1):
        fmt = number_format(column, data.currency_of(column, row))
        if fmt is not None:
            ws.cell(row=row_number, column=i).number_format = fmt


def render(data: ReportData, fmt: str, progress: Progress | None = None) -> bytes:
    """The report in ``fmt`` (one of FORMATS)."""
    if fmt == "pdf":
        from ledger.reports.pdf import render_pdf

        return render_pdf(data, progress)
    renderers: dict[str, Callable[[ReportData, Progress | None], bytes]] = {
        "json": render_json,
        "csv": render_csv,
        "xlsx": render_xlsx,
    }
    return renderers[fmt](data, progress)


def filename(data: ReportData, fmt: str) -> str:
    parts = [data.report.name]
    if data.fund_id is not None:
        parts.append(f"fund{data.fund_id}")
    if data.as_of is not None:
        parts.append(data.as_of.isoformat())
    return "-".join(parts) + "." + fmt


class NotAcceptable(LedgerError):
    code = "not_acceptable"
    status = 406
    title = "Not acceptable"


def choose_format(requested: str | None, accept: Any) -> str:
    """``format=`` wins; else the best of the ``Accept`` header; else JSON.

    ``accept`` is werkzeug's ``MIMEAccept`` (empty when the header is absent)."""
    if requested:
        return requested
    if not accept:
        return "json"
    by_media = {media: fmt for fmt, media in MEDIA_TYPES.items()}
    best = accept.best_match(list(by_media))
    if best is None:
        raise NotAcceptable(
            "Reports are served as " + ", ".join(MEDIA_TYPES.values()) + "; or pass format=.",
            errors={"Accept": [f"Must accept one of: {', '.join(MEDIA_TYPES.values())}."]},
        )
    return by_media[best]
