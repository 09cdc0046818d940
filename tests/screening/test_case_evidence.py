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
