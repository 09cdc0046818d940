"""Secondary identifiers in the decision (issue 23, item 2): a birth year far
from the listed one is another person; a person is not matched against an
organisation or a vessel, nor the other way round, unless a name is the same;
each step is in the evidence."""

from __future__ import annotations

from ledger.screening.names import REVIEW_THRESHOLD, score_entry
from ledger.screening.sources import Alias, ListEntry
from tests.batches.world import csv_file, households, submit
from tests.screening.test_screening_flow import register

ZAHHAR = ListEntry(
    source_key="ofac-cons:9647",
    kind="person",
    name="ZAHHAR, Mahmoud Khaled",
    aliases=(Alias("ZAHAR, Mahmoud", "strong"),),
    birth_dates=("1945",),
)
VESSEL = ListEntry(source_key="ofac-sdn:1", kind="vessel", name="OCEAN STAR")


def test_a_birth_year_far_from_the_listed_one_is_another_person():
    named = score_entry(["Mahmoud Zahar"], ZAHHAR)
    near = score_entry(["Mahmoud Zahar"], ZAHHAR, birth_date="1946")
    far = score_entry(["Mahmoud Zahar"], ZAHHAR, birth_date="1990-03-02")
    assert named.score >= REVIEW_THRESHOLD
    assert near.score >= REVIEW_THRESHOLD  # lists give years "circa"
    assert far.score < REVIEW_THRESHOLD
    assert far.birth_date_match is False
    assert any("45 years" in step for step in far.adjustments), far.adjustments


def test_a_person_is_not_matched_against_a_vessel_unless_the_name_is_the_same():
    assert score_entry(["Oceana Star"], VESSEL).score >= REVIEW_THRESHOLD
    other = score_entry(["Oceana Star"], VESSEL, kind="person")
    assert other.score == 0.0 and "vessel" in other.adjustments[-1]
    assert score_entry(["Ocean Star"], VESSEL, kind="person").score >= REVIEW_THRESHOLD
    assert score_entry(["Mahmoud Zahar Trading"], ZAHHAR, kind="organization").score == 0.0


def test_a_namesake_born_decades_apart_opens_no_case_and_is_paid(ledger, lists):
    namesake = register(ledger, "Mahmoud Zahar", birth_date="1990-03-02")
    assert namesake["payable"] is True
    assert ledger.get(f"/review-cases?payee_id={namesake['id']}", "compliance")["items"] == []
    same_name = register(ledger, "Mahmoud Zahar", birth_date="1946-01-01")
    assert same_name["payable"] is False


def test_batch_rows_with_birth_dates_tell_namesakes_apart(ledger, lists):
    world = {**lists, "programme": ledger.payee("WFP cash-assistance programme, Gaza 2021")}
    header = "name,national_id,original_script_name,birth_date,account,amount,currency,reference"
    rows = [
        "Mahmoud Zahar,460000001,,1991-07-14,PS-W-1,100.00,USD,QA-Z-1",
        "Mahmoud Zahar,460000002,,1945,PS-W-2,100.00,USD,QA-Z-2",
        "Mahmoud Zahar,460000003,,,PS-W-3,100.00,USD,QA-Z-3",
        "Salma Odeh,460000004,,31-12-1980,PS-W-4,100.00,USD,QA-Z-4",
    ]
    data = ("\n".join([header, *rows]) + "\n").encode()
    batch = submit(ledger, world, data)
    rows_by_line = {
        r["line"]: r for r in ledger.get(f"/batches/{batch['id']}/rows?limit=10")["items"]
    }
    assert rows_by_line[2]["state"] == "ready" and rows_by_line[2]["birth_date"] == "1991-07-14"
    assert rows_by_line[3]["state"] == "held"
    assert rows_by_line[4]["state"] == "held"
    assert rows_by_line[5]["state"] == "invalid"
    assert "birth_date" in rows_by_line[5]["problems"]["errors"]
    # The old header, without the column, is still read.
    plain = submit(ledger, world, csv_file(households(2, start=500)))
    assert plain["progress"]["rows"]["ready"] == 2
