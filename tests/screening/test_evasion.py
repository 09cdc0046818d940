"""Names that hide nothing (issue 23, item 1): a listed name written letter-spaced,
dotted or split into syllables is caught on every path, and text holding
characters that print nothing or reorder what is shown (U+202E and the like) is
refused wherever a name comes in; so none of these is paid."""

from __future__ import annotations

import pytest

from tests.batches.world import csv_file, households, submit
from tests.screening.test_screening_flow import WATCHLISTS, register

pytestmark = pytest.mark.skipif(not WATCHLISTS.exists(), reason="shared/ not beside the repo")

# Ismail HANIYA is on OFAC's consolidated list (the ``lists`` fixture).
SPELLED_OUT = [
    "I S M A I L  H A N I Y A",
    "I.S.M.A.I.L. H.A.N.I.Y.A.",
    "Is-ma-il Ha-ni-ya",
]
# Displays as "Ismail HANIYA", and a zero-width space, a soft hyphen and a Hangul
# filler inside it.
HIDING = [
    "\u202eAYINAH liamsI",
    "Ism\u200bail HANI\u00adYA",
    "Ismail\u3164HANIYA",
    "Ismail HANIYA\u2066",
]


def open_cases(ledger, payee_id):  # type: ignore[no-untyped-def]
    return ledger.get(f"/review-cases?payee_id={payee_id}&status=open", "compliance")["items"]


@pytest.mark.parametrize("name", SPELLED_OUT)
def test_a_spelled_out_listed_name_is_caught_as_payee_alias_and_party(ledger, lists, name):
    as_name = register(ledger, name)
    as_alias = register(ledger, "Khalil Saleh Odeh", aliases=[name])
    behind = register(
        ledger,
        "Al-Amal Company for Contracting",
        kind="organization",
        related_parties=[{"name": name, "kind": "person", "role": "director"}],
    )
    for payee in (as_name, as_alias, behind):
        assert payee["payable"] is False, payee
        assert open_cases(ledger, payee["id"]), payee


def test_a_spelled_out_name_patched_on_after_approval_is_not_paid(ledger, lists):
    payee = register(ledger, "Khan Younis Water Works Est.", kind="organization")
    fund, project = lists["fund"]["id"], lists["project"]["id"]
    request = ledger.request(fund, project, payee["id"], "100.00")
    ledger.approve(request["id"])
    ledger.call(
        "PATCH", f"/payees/{payee['id']}", "clerk", {"aliases": ["I.S.M.A.I.L. H.A.N.I.Y.A."]}
    )
    refused = ledger.disburse(request["id"], "100.00", expect=409)
    assert refused["code"] == "payee_restricted"
    assert ledger.position(fund)["base"]["disbursed"] == "0.00"


def test_spelled_out_names_in_a_batch_are_held_not_paid(ledger, lists):
    world = {**lists, "programme": ledger.payee("WFP cash-assistance programme, Gaza 2021")}
    lines = [
        f"{name},{440000000 + i},,PS-WALLET-E{i},100.00,USD,QA-EVADE-{i}"
        for i, name in enumerate(SPELLED_OUT)
    ]
    batch = submit(ledger, world, csv_file(lines + households(3)))
    assert batch["progress"]["rows"]["held"] == len(SPELLED_OUT)
    held = ledger.get(f"/batches/{batch['id']}/rows?state=held")["items"]
    assert sorted(r["line"] for r in held) == [2, 3, 4]


@pytest.mark.parametrize("name", HIDING)
def test_hidden_characters_are_refused_wherever_a_name_comes_in(ledger, lists, name):
    payee = {"name": name, "kind": "individual", "country": "PS"}
    refused = ledger.call("POST", "/payees", "clerk", payee, expect=422)
    assert "print nothing or reorder" in refused["errors"]["name"][0]
    for change in (
        {"aliases": [name]},
        {"original_script_name": name},
        {
            "related_parties": [{"name": name, "kind": "person", "role": "owner"}],
        },
    ):
        body = {"name": "Khalil Saleh Odeh", "kind": "individual", "country": "PS", **change}
        refused = ledger.call("POST", "/payees", "clerk", body, expect=422)
        assert refused["code"] == "validation_error", change
    clean = register(ledger, "Khalil Saleh Odeh")
    patched = ledger.call("PATCH", f"/payees/{clean['id']}", "clerk", {"name": name}, expect=422)
    assert patched["errors"]["name"]
    world = {**lists, "programme": ledger.payee("WFP cash-assistance programme, Gaza 2021")}
    line = f'"{name}",450000001,,PS-WALLET-H1,100.00,USD,QA-HIDE-1'
    batch = submit(ledger, world, csv_file([line, *households(2)]))
    invalid = ledger.get(f"/batches/{batch['id']}/rows?state=invalid")["items"]
    assert [r["line"] for r in invalid] == [2]
    assert "print nothing or reorder" in invalid[0]["problems"]["errors"]["name"][0]


def test_a_persian_name_written_with_its_joiner_is_taken(ledger, lists):
    """ZWNJ between two letters of Persian is writing, not hiding."""
    written = "محمد علی\u200cزاده"  # noqa: RUF001
    payee = register(ledger, "Mohammad Alizadeh", original_script_name=written)
    assert payee["original_script_name"] == written
