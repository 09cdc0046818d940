"""Compliance's pages (issue 24, item 3): open review cases in groups, the listed
party beside the payee names, one decision a group."""

from __future__ import annotations

import pytest

from tests.console.test_sign_in import PASSWORD, csrf, invite, set_password, sign_in
from tests.screening.test_screening_flow import WATCHLISTS, register

pytestmark = pytest.mark.skipif(not WATCHLISTS.exists(), reason="shared/ not beside the repo")


def test_compliance_clears_a_group_in_one_decision(ledger, lists, runner, client):
    for name in ("Ismail HANIYYA", "Haniyeh, Ismail"):
        register(ledger, name)
    set_password(client, invite(runner, "compliance"))
    assert sign_in(client, "compliance", PASSWORD).status_code == 302
    page = client.get("/console/review-cases")
    text = page.data.decode()
    assert page.status_code == 200 and "2 cases on 2 payees" in text
    assert "Ismail HANIYYA" in text and "Haniyeh, Ismail" in text
    group = ledger.get("/review-case-groups", "compliance")["items"][0]

    def decide(**choice: str):  # type: ignore[no-untyped-def]
        form = {"csrf_token": csrf(page.data), "entry_id": group["entry_id"]}
        return client.post("/console/review-cases/decide", data={**form, **choice})

    missing = decide(listed_key=group["listed_key"], decision="clear")
    assert "Choose clear or confirm" in client.get(missing.location).data.decode()
    decided = decide(
        listed_key=group["listed_key"], decision="clear", reason="Namesakes: ID cards checked."
    )
    assert "2 cases cleared." in client.get(decided.location).data.decode()
    left = ledger.get("/review-case-groups", "compliance")["items"]
    assert all(g["listed_key"] != group["listed_key"] for g in left)


def test_an_auditor_reads_the_groups_but_does_not_decide(ledger, lists, runner, client):
    register(ledger, "Ismail HANIYYA")
    set_password(client, invite(runner, "auditor"))
    sign_in(client, "auditor", PASSWORD)
    page = client.get("/console/review-cases")
    assert page.status_code == 200 and b"Decide the group" not in page.data
    token = csrf(client.get("/console/").data)
    assert (
        client.post("/console/review-cases/decide", data={"csrf_token": token}).status_code == 403
    )
