"""PDFs that donors and auditors accept as they are (issue 25, items 1 and 2).

Every report of the demo fund, with a payee named in Arabic script paid too, is
rendered to PDF, then to PNG (poppler's ``pdftoppm``) and read back as text
(``pdftotext -layout``): no column header is split inside a word, every amount's
full text is there, and the Arabic name comes back in logical order. Poppler is
optional here (the test is skipped without it), except under ``CI=true``, where
``.ci/run`` installs ``poppler-utils`` and a missing poppler fails the run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import unicodedata
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

ARABIC_NAME = "جمعية الإعمار الخيرية"
POPPLER = shutil.which("pdftotext") and shutil.which("pdftoppm")
pytestmark = pytest.mark.skipif(
    not POPPLER and os.environ.get("CI") != "true", reason="poppler-utils not installed"
)
# A folder to copy each report's table page into (docs/images/reports for the docs).
IMAGES = os.environ.get("LEDGER_REPORT_IMAGES")
_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def as_read(pdf: Path) -> str:
    """The PDF's text as poppler reads it, in logical order, Arabic presentation
    forms folded back to letters and the bidi marks it adds dropped."""
    out = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    return _CONTROLS.sub("", unicodedata.normalize("NFKC", out))


def pay_a_payee_named_in_arabic(client) -> None:  # type: ignore[no-untyped-def]
    def post(path, token, body, key=None):  # type: ignore[no-untyped-def]
        headers = {"Authorization": f"Bearer {token}"}
        if key:
            headers["Idempotency-Key"] = key
        response = client.post(f"/api/v1{path}", json=body, headers=headers)
        assert response.status_code in (200, 201), response.get_data(as_text=True)
        return response.get_json()

    payee = post(
        "/payees",
        "demo-clerk-token",
        {"name": ARABIC_NAME, "kind": "organization", "country": "PS"},
    )
    request = post(
        "/spending-requests",
        "demo-clerk-token",
        {
            "fund_id": 1,
            "project_id": 1,
            "payee_id": payee["id"],
            "amount": "1234567.89",
            "currency": "USD",
            "purpose": "Rebuilding of 40 homes in Beit Hanoun",
        },
    )
    for member in ("egypt", "un", "eu"):
        post(
            f"/spending-requests/{request['id']}/votes",
            f"demo-member-{member}-token",
            {"decision": "approve", "comment": "Agreed."},
        )
    post(
        "/disbursements",
        "demo-treasurer-token",
        {
            "spending_request_id": request["id"],
            "amount": "1234567.89",
            "currency": "USD",
            "reference": "PAY-2021-0777",
        },
        key=str(uuid.uuid4()),
    )


def test_every_report_pdf_keeps_headers_whole_amounts_full_and_arabic_in_order(
    runner, client, tmp_path
):
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    pay_a_payee_named_in_arabic(client)
    auditor = {"Authorization": "Bearer demo-auditor-token"}
    names = [r["name"] for r in client.get("/api/v1/reports", headers=auditor).get_json()]
    checked = 0
    for name in names:
        if name == "iati":
            continue
        query = "fund_id=1" if name != "audit-trail" else ""
        data = client.get(f"/api/v1/reports/{name}?{query}", headers=auditor).get_json()
        pdf = tmp_path / f"{name}.pdf"
        response = client.get(f"/api/v1/reports/{name}?{query}&format=pdf", headers=auditor)
        assert response.status_code == 200, name
        pdf.write_bytes(response.get_data())
        subprocess.run(
            ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "3", str(pdf), str(tmp_path / name)],
            check=True,
        )
        pages = sorted(tmp_path.glob(f"{name}*.png"))
        assert pages, name
        if IMAGES:  # docs/reports.md shows these: regenerate them with this variable
            shutil.copy(pages[-1], Path(IMAGES) / f"{name}.png")
        text = as_read(pdf)
        words = set(text.split())
        for column in data.get("columns", []):
            for word in column["title"].split():
                assert word in words, f"{name}: header word {word!r} split or missing"
        money = [c["key"] for c in data.get("columns", []) if c.get("type") == "money"]
        for row in [*data.get("rows", []), *data.get("totals", [])]:
            for key in money:
                if row.get(key) not in (None, ""):
                    amount = f"{Decimal(row[key]):,}"
                    assert amount in words, f"{name}: {key} {amount} cut or missing"
        checked += 1
    assert checked >= 10
    ledger_text = as_read(tmp_path / "payee-ledger.pdf")
    assert ARABIC_NAME in ledger_text
    assert "1,234,567.89" in ledger_text
