"""The IATI 2.03 export validates against the official schema; the demo's PDF reads right."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from functools import cache
from pathlib import Path

import pypdf
from lxml import etree
from openpyxl import load_workbook

from tests.reports.world import build_world

IATI_SCHEMA = Path(__file__).resolve().parents[3] / "shared" / "data" / "iati"


@cache
def iati_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(IATI_SCHEMA / "iati-activities-schema.xsd")))


def assert_valid_iati(body: bytes) -> etree._ElementTree:
    doc = etree.parse(io.BytesIO(body))
    schema = iati_schema()
    assert schema.validate(doc), schema.error_log
    return doc


def test_iati_export_of_a_fund_in_several_currencies_validates(ledger):
    world = build_world(ledger)
    response = ledger.raw("GET", f"/reports/iati?fund_id={world['fund']['id']}", "auditor")
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    doc = assert_valid_iati(response.get_data())
    activities = doc.findall("iati-activity")
    assert len(activities) == 2  # one per project
    housing, water = activities
    codes = [t.find("transaction-type").get("code") for t in housing.findall("transaction")]
    assert codes.count("13") == 1  # Qatar's pledge earmarked for the project
    assert {"1", "2", "3"} <= set(codes)
    paid = [
        t.find("value")
        for t in water.findall("transaction")
        if t.find("transaction-type").get("code") == "3"
    ]
    assert [(v.get("currency"), v.text) for v in paid] == [("EUR", "20000.00")]
    roles = {o.get("role") for o in housing.findall("participating-org")}
    assert roles == {"1", "2", "4"}
    # What the activities disbursed is what the fund disbursed, currency by currency.
    position = ledger.position(world["fund"]["id"])
    for row in position["by_currency"]:
        exported = sum(
            Decimal(v.text)
            for v in doc.iterfind(".//transaction/value")
            if v.getparent().find("transaction-type").get("code") == "3"
            and v.get("currency") == row["currency"]
        )
        assert exported == Decimal(row["disbursed"])


def test_demo_reports_from_the_cli_iati_pdf_and_xlsx(runner, tmp_path):
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    listed = runner.invoke(args=["report"])
    assert "payee-ledger" in listed.output and "iati" in listed.output

    xml = tmp_path / "iati.xml"
    result = runner.invoke(args=["report", "iati", "--fund", "1", "--output", str(xml)])
    assert result.exit_code == 0, result.output
    doc = assert_valid_iati(xml.read_bytes())
    assert len(doc.findall("iati-activity")) >= 4

    result = runner.invoke(args=["report", "budget-execution", "--fund", "1", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)

    pdf = tmp_path / "budget.pdf"
    result = runner.invoke(
        args=["report", "budget-execution", "--fund", "1", "--format", "pdf", "-o", str(pdf)]
    )
    assert result.exit_code == 0, result.output
    reader = pypdf.PdfReader(str(pdf))
    # Wrapped cells break lines: compare with whitespace collapsed.
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert "Budget execution by project" in text
    assert "Gaza Reconstruction Fund 2021" in text
    assert data["audit_chain_head"]["hash"] in text
    for row in data["rows"]:
        assert row["project"] in text
        assert f"{Decimal(row['committed']):,}" in text
    # Two charts (committed against disbursed per sector and per location), as images.
    images = [image for page in reader.pages for image in page.images]
    assert len(images) == 2
    assert all(image.image.size[0] > 500 for image in images)

    pledge_pdf = tmp_path / "pledges.pdf"
    runner.invoke(
        args=["report", "pledge-tracker", "--fund", "1", "--format", "pdf", "-o", str(pledge_pdf)]
    )
    assert sum(len(p.images) for p in pypdf.PdfReader(str(pledge_pdf)).pages) == 1

    xlsx = tmp_path / "payees.xlsx"
    result = runner.invoke(
        args=["report", "payee-ledger", "--fund", "1", "--format", "xlsx", "-o", str(xlsx)]
    )
    assert result.exit_code == 0, result.output
    book = load_workbook(xlsx)
    about = {row[0].value: row[1].value for row in book["About"].iter_rows()}
    assert about["fund"] == "Gaza Reconstruction Fund 2021"
    assert about["audit_chain_hash"] == data["audit_chain_head"]["hash"]

    unknown = runner.invoke(args=["report", "no-such-report", "--fund", "1"])
    assert unknown.exit_code == 2 and "no report named" in unknown.output
    no_fund = runner.invoke(args=["report", "pledge-tracker"])
    assert no_fund.exit_code == 1 and "fund_id" in no_fund.output


def test_people_read_labels_and_machines_read_codes(runner, client):
    """Issue 25, item 3: sectors and states by name in the PDF, the XLSX and the
    charts; the codes stay in JSON and CSV. The fund position has its chart."""
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    auditor = {"Authorization": "Bearer demo-auditor-token"}
    base = "/api/v1/reports/budget-execution-by-sector?fund_id=1"
    data = client.get(base, headers=auditor).get_json()
    assert "water_sanitation" in {row["sector"] for row in data["rows"]}
    assert "water_sanitation" in client.get(f"{base}&format=csv", headers=auditor).get_data(
        as_text=True
    )
    pdf = pypdf.PdfReader(io.BytesIO(client.get(f"{base}&format=pdf", headers=auditor).data))
    text = " ".join(page.extract_text() for page in pdf.pages)
    assert "Water and sanitation" in text and "water_sanitation" not in text
    book = load_workbook(io.BytesIO(client.get(f"{base}&format=xlsx", headers=auditor).data))
    sectors = {row[0] for row in book.worksheets[0].iter_rows(min_row=2, values_only=True)}
    assert "Rubble removal" in sectors and "rubble_removal" not in sectors
    register = "/api/v1/reports/decisions-register?fund_id=1&format=pdf"
    text = " ".join(
        p.extract_text()
        for p in pypdf.PdfReader(io.BytesIO(client.get(register, headers=auditor).data)).pages
    )
    assert "Approved" in text and "Withdrawn" in text
    position = "/api/v1/reports/fund-position?fund_id=1&format=pdf"
    reader = pypdf.PdfReader(io.BytesIO(client.get(position, headers=auditor).data))
    assert [image for page in reader.pages for image in page.images], "sources and uses chart"


def test_a_donor_gets_its_own_statement_in_pdf_xlsx_and_csv(runner, client):
    """Issue 25, item 4: the statement of one donor, as of a date: its pledges,
    receipts and where they went, its earmark honoured, the chain head and the
    latest signed checkpoint, a page in plain words; the table form filters by
    donor_id."""
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    auditor = {"Authorization": "Bearer demo-auditor-token"}
    donors = client.get("/api/v1/donors", headers=auditor).get_json()["items"]
    us = next(d for d in donors if d["name"] == "United States of America")
    base = f"/api/v1/reports/donor-trace?donor_id={us['id']}&as_of=2021-12-31"

    csv_text = client.get(f"{base}&format=csv", headers=auditor).get_data(as_text=True)
    data_rows = [line for line in csv_text.splitlines() if line.startswith("data,")]
    assert data_rows and all("United States of America" in line for line in data_rows)

    response = client.get(f"{base}&format=pdf", headers=auditor)
    assert response.status_code == 200, response.get_data(as_text=True)
    text = " ".join(
        " ".join(
            page.extract_text() for page in pypdf.PdfReader(io.BytesIO(response.data)).pages
        ).split()
    )
    for said in (
        "United States of America (US)",
        "pledged 40,000,000.00 USD",
        "received 8,000,000.00 USD",
        "Water and sanitation",
        "honoured: every use kept to it",
        "Latest signed checkpoint",
        "How to read it",
        "earmarked for exactly that project",
    ):
        assert said in text, said
    assert "State of Qatar" not in text

    book = load_workbook(io.BytesIO(client.get(f"{base}&format=xlsx", headers=auditor).data))
    donors_in_table = {r[0] for r in book.worksheets[0].iter_rows(min_row=2, values_only=True)}
    named = {d for d in donors_in_table if d and not str(d).startswith("Total")}
    assert named == {"United States of America"}
    about = {row[0]: row[1] for row in book["About"].iter_rows(values_only=True)}
    assert about["statement.received"] == "8,000,000.00 USD"
    assert about["latest_checkpoint_seq"] == "none signed yet"
    assert "how_to_read_2" in about
