"""A review case explains itself (issue 23, item 3; issue 25, item 5): beside the
names that matched, the listed party as its list has it (name, list and version,
reference, programmes, birth dates, nationalities, identifiers) and the payee as
registered."""

from __future__ import annotations

from tests.screening.test_screening_flow import register


def test_a_case_shows_the_listed_party_beside_the_payee(ledger, lists):
    payee = register(
        ledger,
        "Ismail HANIYYA",
        birth_date="1963-01-29",
        identifiers=[{"type": "national_id", "value": "900111222"}],
    )
    case = ledger.get(f"/review-cases?payee_id={payee['id']}", "compliance")["items"][0]
    evidence = case["evidence"]
    listed, screened = evidence["listed"], evidence["screened"]
    assert listed["list"] == evidence["list"] and listed["list_version"] == 1
    assert "HANIY" in listed["name"].upper()
    assert listed["programmes"], listed
    assert listed["kind"] == "person"
    assert screened["name"] == "Ismail HANIYYA"
    assert screened["birth_date"] == "1963-01-29"
    assert evidence["query_name"] == "Ismail HANIYYA" and evidence["entry_name"]


def test_the_exceptions_report_names_the_listed_party_and_the_list(ledger, lists):
    """Not 'score 0.8995 against watchlist entry 910' (issue 25, item 5)."""
    payee = register(ledger, "Ismail HANIYYA")
    case = ledger.get(f"/review-cases?payee_id={payee['id']}", "compliance")["items"][0]
    report = ledger.get("/reports/restricted-party-exceptions", "auditor")
    opened = [r for r in report["rows"] if r["event"] == "review_case_opened"]
    detail = next(r["detail"] for r in opened if r["ref_id"] == case["id"])
    evidence = case["evidence"]
    assert detail.startswith("'Ismail HANIYYA' matched ")
    assert evidence["listed"]["name"] in detail
    assert f"on the {evidence['list']} list, version {evidence['list_version']}" in detail
    assert evidence["source_key"] in detail and f"score {case['score']}" in detail
    assert "watchlist entry" not in detail
