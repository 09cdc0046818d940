"""SPEC §6: the reports tie out to the cent, and every format carries the same numbers."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pypdf
from openpyxl import load_workbook

from tests.reports.world import build_world

AS_OF = "2021-08-31"


def report(ledger: Any, name: str, fund_id: int | None, as_of: str | None = None, **q: str) -> Any:
    query = "&".join(
        f"{k}={v}" for k, v in {"fund_id": fund_id, "as_of": as_of, **q}.items() if v is not None
    )
    return ledger.get(f"/reports/{name}?{query}")


def grand(data: dict[str, Any]) -> dict[str, str]:
    """The last totals row: the grand total in base currency."""
    return data["totals"][-1]


def per_currency(data: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {t["currency"]: t for t in data["totals"] if t["label"] == f"Total {t['currency']}"}


def assert_reports_tie_out(ledger: Any, fund_id: int, as_of: str | None) -> None:
    """Every pair of reports that state the same figure states it to the cent, as
    of ``as_of``: pledge tracker, budget execution (three ways), payee ledger,
    decisions register, trial balance and journal against the fund position and
    one another."""
    position = ledger.position(fund_id, as_of)
    base = position["base"]
    by_currency = {r["currency"]: r for r in position["by_currency"]}

    pledges = report(ledger, "pledge-tracker", fund_id, as_of)
    assert grand(pledges)["base_pledged"] == base["pledged"]
    assert grand(pledges)["base_received"] == base["received"]
    assert grand(pledges)["base_outstanding"] == base["outstanding_pledges"]
    for currency, total in per_currency(pledges).items():
        assert total["pledged"] == by_currency[currency]["pledged"]
        assert total["received"] == by_currency[currency]["received"]
        assert total["outstanding"] == by_currency[currency]["outstanding_pledges"]

    for name in (
        "budget-execution",
        "budget-execution-by-sector",
        "budget-execution-by-location",
    ):
        execution = report(ledger, name, fund_id, as_of)
        assert grand(execution)["committed"] == base["committed"], name
        assert grand(execution)["disbursed"] == base["disbursed"], name
        assert grand(execution)["committed_not_disbursed"] == base["committed_not_disbursed"]

    payees = report(ledger, "payee-ledger", fund_id, as_of)
    assert grand(payees)["base_amount"] == base["disbursed"]
    for currency, total in per_currency(payees).items():
        assert total["amount"] == by_currency[currency]["disbursed"]

    # The trial balance keeps its own JSON shape (totals per currency and "base").
    tb = ledger.trial_balance(fund_id, as_of)
    assert tb["balanced"] is True
    base_balance: dict[str, Decimal] = {}
    for r in tb["rows"]:
        base_balance[r["account"]] = base_balance.get(r["account"], Decimal(0)) + (
            Decimal(r["base_debit"]) - Decimal(r["base_credit"])
        )
    assert base_balance.get("disbursements", Decimal(0)) == Decimal(base["disbursed"])
    assert base_balance.get("cash", Decimal(0)) == Decimal(base["cash"])
    assert base_balance["pledges_receivable"] == Decimal(base["outstanding_pledges"])
    for row in tb["rows"]:
        if row["account"] == "disbursements":
            paid = Decimal(row["debit"]) - Decimal(row["credit"])
            assert paid == Decimal(by_currency[row["currency"]]["disbursed"]), row
    # Its CSV is the registry's table: the same rows, and totals rows.
    tb_csv = _csv_rows(
        ledger.raw(
            "GET",
            f"/reports/trial-balance?fund_id={fund_id}&format=csv"
            + (f"&as_of={as_of}" if as_of else ""),
            "auditor",
        ).get_data()
    )
    assert [
        {k: v for k, v in r.items() if k != "row_type"} for r in tb_csv if r["row_type"] == "data"
    ] == tb["rows"]

    journal = report(ledger, "journal", fund_id, as_of)
    assert per_currency(journal).keys() == tb["totals"].keys() - {"base"}
    for currency, total in per_currency(journal).items():
        assert total["debit"] == tb["totals"][currency]["debit"]
        assert total["credit"] == tb["totals"][currency]["credit"]
    assert grand(journal)["base_debit"] == tb["totals"]["base"]["debit"]
    assert grand(journal)["base_credit"] == tb["totals"]["base"]["credit"]
    decisions = report(ledger, "decisions-register", fund_id, as_of)
    for row in decisions["rows"]:
        if row["currency"] == position["base_currency"]:
            assert row["base_amount"] == row["amount"], row


def test_reports_tie_out_with_the_fund_position_and_the_journal(ledger):
    world = build_world(ledger)
    fund_id = world["fund"]["id"]
    for as_of in (AS_OF, None):
        assert_reports_tie_out(ledger, fund_id, as_of)
    position = ledger.position(fund_id, None)
    assert position["base"]["disbursed"] != "0.00"

    # As of the end of August, September's payment is not counted.
    august = report(ledger, "payee-ledger", fund_id, AS_OF)
    assert [r["amount"] for r in august["rows"]] == ["50000.00", "20000.00"]
    assert august["rows"][0]["screening_state"] == "clear"


def test_exceptions_decisions_and_audit_trail(ledger):
    world = build_world(ledger)
    fund_id = world["fund"]["id"]
    exceptions = report(ledger, "restricted-party-exceptions", fund_id)
    events = [(r["event"], r["payee_id"]) for r in exceptions["rows"]]
    blocked = world["blocked"]["id"]
    assert events == [
        ("restriction_set", blocked),
        ("refused_attempt", blocked),
        ("restriction_lifted", blocked),
    ]
    assert exceptions["rows"][1]["code"] == "payee_restricted"
    assert exceptions["rows"][2]["by"] == "compliance2"
    assert report(ledger, "restricted-party-exceptions", None, "2021-01-01")["rows"] == []

    decisions = report(ledger, "decisions-register", fund_id)
    assert [r["outcome"] for r in decisions["rows"]] == ["approved", "approved"]
    assert decisions["rows"][1]["currency"] == "EUR"
    assert all(r["approvals"] >= 2 for r in decisions["rows"])

    trail = report(ledger, "audit-trail", None)
    verification = trail["notes"]["verification"]
    assert verification["valid"] is True
    assert verification["head_seq"] == len(trail["rows"]) == trail["audit_chain_head"]["seq"]
    assert trail["rows"][-1]["hash"] == trail["audit_chain_head"]["hash"]


def _csv_rows(body: bytes) -> list[dict[str, str]]:
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def _amounts(data: dict[str, Any]) -> list[tuple[int, str, str]]:
    """Every money cell of the JSON report: (row index, column, decimal text)."""
    money = [c["key"] for c in data["columns"] if c["type"] == "money"]
    lines = data["rows"] + data["totals"]
    return [(i, k, line[k]) for i, line in enumerate(lines) for k in money if line.get(k)]


def test_every_format_of_a_report_carries_the_same_numbers(ledger):
    world = build_world(ledger)
    fund_id = world["fund"]["id"]
    for name in ("pledge-tracker", "payee-ledger", "journal", "budget-execution"):
        data = report(ledger, name, fund_id)
        url = f"/reports/{name}?fund_id={fund_id}"
        keys = [c["key"] for c in data["columns"]]
        amounts = _amounts(data)
        assert amounts, name

        csv_body = ledger.raw("GET", url + "&format=csv", "auditor")
        assert csv_body.mimetype == "text/csv"
        rows = _csv_rows(csv_body.get_data())
        assert [r["row_type"] for r in rows] == ["data"] * len(data["rows"]) + ["total"] * len(
            data["totals"]
        )
        for i, key, value in amounts:
            assert rows[i][key] == value, (name, i, key)

        xlsx = ledger.raw(
            "GET",
            url,
            "auditor",
            headers={"Accept": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
        )
        assert xlsx.status_code == 200
        sheet = load_workbook(io.BytesIO(xlsx.get_data())).worksheets[0]
        assert sheet.freeze_panes == "A2"
        for i, key, value in amounts:
            cell = sheet.cell(row=i + 2, column=keys.index(key) + 1)
            assert isinstance(cell.value, int | float), (name, key, cell.value)
            digits = len(value.partition(".")[2])
            assert Decimal(repr(cell.value)).quantize(Decimal(1).scaleb(-digits)) == Decimal(value)
            assert "#,##0.00" in cell.number_format and '"' in cell.number_format

        pdf = ledger.raw("GET", url + "&format=pdf", "auditor")
        assert pdf.mimetype == "application/pdf"
        text = "".join(
            page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf.get_data())).pages
        )
        for _i, _key, value in amounts:
            assert f"{Decimal(value):,}" in text, (name, value)
        assert data["audit_chain_head"]["hash"] in text


def test_report_formats_and_errors_are_negotiated(ledger):
    fund = ledger.fund()
    url = f"/reports/pledge-tracker?fund_id={fund['id']}"
    assert ledger.raw("GET", url, "auditor", headers={"Accept": "text/csv"}).mimetype == "text/csv"
    refused = ledger.raw("GET", url, "auditor", headers={"Accept": "image/png"})
    assert refused.status_code == 406
    assert refused.mimetype == "application/problem+json"
    assert refused.get_json()["code"] == "not_acceptable"
    bad = ledger.get(url + "&format=docx", expect=422)
    assert bad["code"] == "validation_error" and "format" in bad["errors"]
    unknown = ledger.get(f"/reports/no-such-report?fund_id={fund['id']}", expect=404)
    assert unknown["code"] == "not_found" and "name" in unknown["errors"]
    missing = ledger.get("/reports/pledge-tracker", expect=422)
    assert missing["errors"] == {"fund_id": ["Missing data for required field."]}
    assert ledger.get(f"/reports/journal?fund_id={fund['id']}", "clerk", expect=403)["code"] == (
        "forbidden"
    )
    # The nested JSON of the fund position stays; its other formats come from the registry.
    csv_position = ledger.raw(
        "GET", f"/reports/fund-position?fund_id={fund['id']}&format=csv", "auditor"
    )
    assert csv_position.mimetype == "text/csv"
    names = {r["name"] for r in ledger.get("/reports")}
    assert {"fund-position", "payee-ledger", "audit-trail"} <= names


def return_first_transfer(ledger: Any, world: dict[str, Any], value_date: str) -> None:
    """The pledge's first contribution returned to the donor by the bank."""
    contribution = ledger.get(f"/pledges/{world['pledge']['id']}/contributions")["items"][0]
    ledger.call(
        "POST",
        f"/contributions/{contribution['id']}/reverse",
        "treasurer",
        {"reason": "Returned by the correspondent bank", "value_date": value_date},
        key=f"return-{contribution['id']}",
    )


def test_the_pledge_tracker_counts_a_returned_transfer_as_the_fund_position_does(ledger):
    """A contribution returned to the donor is money not received, in every report
    that says "received", as of any date: before the return it counts, after it
    it does not."""
    world = ledger.funded(received="800.00", pledged="1000.00")
    fund_id = world["fund"]["id"]
    ledger.contribute(world["pledge"]["id"], "200.00", received_on="2021-06-20")
    return_first_transfer(ledger, world, "2021-07-01")
    for as_of, received in (("2021-06-30", "1000.00"), ("2021-07-01", "200.00"), (None, "200.00")):
        position = ledger.position(fund_id, as_of)["base"]
        tracker = grand(report(ledger, "pledge-tracker", fund_id, as_of))
        assert position["received"] == received, as_of
        assert tracker["base_received"] == received, as_of


def test_the_donor_trace_as_of_a_date_does_not_change_after_a_later_return(ledger):
    world = ledger.funded(received="800.00", pledged="1000.00")
    donor_id = world["donor"]["id"]
    url = f"/reports/donor-trace?donor_id={donor_id}&as_of=2021-06-30"
    before = ledger.get(url)
    return_first_transfer(ledger, world, "2021-07-01")
    after = ledger.get(url)
    assert after == before
    assert after["contributions"][0]["reversed"] is False
    now = ledger.get(f"/reports/donor-trace?donor_id={donor_id}")
    assert now["contributions"][0]["reversed"] is True
    assert now["contributions"][0]["base_amount"] == "0.00"


def test_the_decisions_register_shows_what_was_decided_in_both_currencies(ledger):
    """A decrease after the decision changes what stands, not what was decided: the
    register's amount and its base amount are the decision's, and agree."""
    world = ledger.approved("200.00")
    request_id = world["request"]["id"]
    ledger.call(
        "POST",
        f"/spending-requests/{request_id}/decrease",
        "treasurer",
        {"amount": "50.00", "currency": "USD", "reason": "Scope reduced."},
    )
    rows = report(ledger, "decisions-register", world["fund"]["id"])["rows"]
    (row,) = [r for r in rows if r["request_id"] == request_id]
    assert (row["currency"], row["amount"], row["base_amount"]) == ("USD", "200.00", "200.00")


SCENARIO_DATES = ("2021-06-30", "2021-07-31", "2021-08-31", "2021-09-16", "2021-09-30", None)
PAIRED_REPORTS = (
    "fund-position",
    "pledge-tracker",
    "budget-execution",
    "budget-execution-by-sector",
    "budget-execution-by-location",
    "payee-ledger",
    "decisions-register",
    "journal",
    "trial-balance",
)


def test_every_pair_of_reports_ties_out_on_every_date_of_a_scenario(ledger):
    """Two currencies, an earmark, a transfer returned to its donor, a payment
    returned by the bank and closed months: on each date, every pair of reports
    agrees; and what was reported as of the end of August, once August is closed,
    does not change with September's returns."""
    world = build_world(ledger)
    fund_id = world["fund"]["id"]
    extra = ledger.contribute(world["usd_pledge"]["id"], "20000.00", received_on="2021-08-05")
    for period in ("2021-06", "2021-07", "2021-08"):
        ledger.call(
            "POST",
            f"/funds/{fund_id}/periods",
            "treasurer",
            {"period": period, "reason": "Reconciled with the bank statement"},
            expect=201,
        )

    def as_reported(as_of: str) -> dict[str, Any]:
        return {name: _figures(report(ledger, name, fund_id, as_of)) for name in PAIRED_REPORTS}

    august = as_reported("2021-08-31")
    ledger.call(
        "POST",
        f"/contributions/{extra['id']}/reverse",
        "treasurer",
        {"reason": "Sent twice by the donor's bank", "value_date": "2021-09-15"},
        key="return-extra",
    )
    first_payment = ledger.get(f"/disbursements?fund_id={fund_id}")["items"][0]
    ledger.call(
        "POST",
        f"/disbursements/{first_payment['id']}/reverse",
        "treasurer",
        {"reason": "Beneficiary account closed", "value_date": "2021-09-20"},
        key="return-payment",
    )

    assert as_reported("2021-08-31") == august
    for as_of in SCENARIO_DATES:
        assert_reports_tie_out(ledger, fund_id, as_of)
    mid_september = ledger.position(fund_id, "2021-09-16")["base"]
    end = ledger.position(fund_id, "2021-09-30")["base"]
    assert Decimal(mid_september["received"]) == Decimal(august_received(august)) - 20000
    assert Decimal(end["disbursed"]) == Decimal(mid_september["disbursed"]) - Decimal(
        first_payment["base_amount"]
    )


def _figures(data: Any) -> Any:
    """A report's figures, without when and by whom it was made."""
    if isinstance(data, dict):
        return {
            k: _figures(v)
            for k, v in data.items()
            if k not in {"generated_at", "generated_by", "audit_chain_head"}
        }
    return data


def august_received(reported: dict[str, Any]) -> str:
    received: str = reported["fund-position"]["base"]["received"]
    return received
