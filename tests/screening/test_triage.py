"""Triage (issue 23, item 3): review cases grouped by listed entry and by name as
the matcher reads it; one decision clears or confirms a group; a larger group
needs a second compliance officer; a clearance holds for the next batch."""

from __future__ import annotations

from tests.batches.world import csv_file, households, submit
from tests.screening.test_screening_flow import register

SPELLINGS = ("Ismail HANIYYA", "Haniyeh, Ismail", "Ismail Haniya")


def groups(ledger, **query):  # type: ignore[no-untyped-def]
    args = "&".join(f"{k}={v}" for k, v in query.items())
    return ledger.get(f"/review-case-groups?{args}", "compliance")["items"]


def haniya_group(ledger):  # type: ignore[no-untyped-def]
    found = [g for g in groups(ledger) if "hania" in g["listed_key"]]
    assert found, groups(ledger)
    return max(found, key=lambda g: g["cases"])


def test_cases_of_one_name_against_one_entry_are_one_group(ledger, lists):
    payees = [register(ledger, name) for name in SPELLINGS]
    group = haniya_group(ledger)
    assert group["cases"] == 3 and group["payees"] == 3
    assert sorted(group["names_written"]) == sorted(SPELLINGS)
    assert group["listed"]["list"] and group["listed"]["name"]
    assert group["needs_second_officer"] is False
    assert all(not ledger.get(f"/payees/{p['id']}")["payable"] for p in payees)


def test_one_decision_clears_a_group_and_the_next_batch_opens_no_case_for_it(ledger, lists):
    payees = [register(ledger, name) for name in SPELLINGS]
    group = haniya_group(ledger)
    decision = {
        "entry_id": group["entry_id"],
        "listed_key": group["listed_key"],
        "reason": "Gaza namesakes: ID cards and birth years checked against the entry.",
    }
    cleared = ledger.call("POST", "/review-case-groups/clear", "compliance", decision, expect=201)
    assert (cleared["status"], cleared["cases_cleared"]) == ("approved", 3)
    for case_id in group["case_ids"]:
        case = ledger.get(f"/review-cases/{case_id}", "compliance")
        assert case["status"] == "cleared" and "Group clearance" in case["resolution_reason"]
    remaining = [g for g in groups(ledger) if g["entry_id"] == group["entry_id"]]
    assert all(g["listed_key"] != group["listed_key"] for g in remaining)
    assert cleared["name_keys"] == ["hania ismail"]
    assert any(ledger.get(f"/payees/{p['id']}")["payable"] for p in payees)

    # The next batch: the same name, new people; not reopened against that entry.
    world = {**lists, "programme": ledger.payee("WFP cash-assistance programme, Gaza 2021")}
    lines = [f"Ismail Haniyeh,47000000{i},,PS-W-T{i},100.00,USD,QA-T-{i}" for i in range(2)]
    batch = submit(ledger, world, csv_file(lines + households(2, start=900)))
    cases = ledger.get("/review-cases?status=open&limit=100", "compliance")["items"]
    assert not [
        c for c in cases if c["entry_id"] == group["entry_id"] and c["name_key"] == "hania ismail"
    ]
    held_groups = groups(ledger, batch_id=batch["id"])
    assert all(g["entry_id"] != group["entry_id"] for g in held_groups)
    # Another name on the same entry is another matter: it opens its case.
    other = register(ledger, "Ismail Abdel Salam Haniya")
    assert other["payable"] is False


def test_a_large_group_needs_a_second_officer(app, ledger, lists):
    app.config["TRIAGE_SECOND_OFFICER_ABOVE"] = 2
    for name in SPELLINGS:
        register(ledger, name)
    group = haniya_group(ledger)
    assert group["needs_second_officer"] is True
    decision = {
        "entry_id": group["entry_id"],
        "listed_key": group["listed_key"],
        "reason": "Namesakes.",
    }
    proposed = ledger.call("POST", "/review-case-groups/clear", "compliance", decision, expect=201)
    assert (proposed["status"], proposed["cases_cleared"]) == ("proposed", 0)
    assert haniya_group(ledger)["cases"] == 3  # still open, still blocking
    approve = f"/review-case-groups/clearances/{proposed['id']}/approve"
    refused = ledger.call("POST", approve, "compliance", expect=403)
    assert refused["code"] == "separation_of_duties"
    approved = ledger.call("POST", approve, "compliance2", expect=200)
    assert (approved["status"], approved["cases_cleared"]) == ("approved", 3)
    assert approved["approved_by"] != approved["proposed_by"]
    ledger.call("POST", approve, "compliance2", expect=409)


def test_one_decision_confirms_a_group(ledger, lists):
    payees = [register(ledger, name) for name in SPELLINGS[:2]]
    group = haniya_group(ledger)
    decision = {
        "entry_id": group["entry_id"],
        "listed_key": group["listed_key"],
        "reason": "Same person: the listed leader's aliases and birth year.",
    }
    confirmed = ledger.call("POST", "/review-case-groups/confirm", "compliance", decision)
    assert {c["status"] for c in confirmed["confirmed"]} == {"confirmed"}
    assert all(c["restriction_id"] for c in confirmed["confirmed"])
    for payee in payees:
        assert ledger.get(f"/payees/{payee['id']}")["payable"] is False
    missing = {**decision, "listed_key": "nobody at all"}
    ledger.call("POST", "/review-case-groups/confirm", "compliance", missing, expect=404)
