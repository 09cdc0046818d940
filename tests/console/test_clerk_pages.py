"""The clerk's submission of a spending request, through the API's checks and
service: it reaches the committee's queues; a refusal (a restricted payee, a
currency without its rate, an amount of nothing) says why, and a refused act is
kept as through the API. Everyone reads the list of requests, by status."""

from __future__ import annotations

import re

from tests.console.test_committee_pages import AUDITOR, as_member
from tests.console.test_sign_in import csrf


def option(page: str, label: str) -> str:
    found = re.search(r'<option value="(\d+)">' + re.escape(label), page)
    assert found, label
    return found.group(1)


def submission(client, payee: str, **changes: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    page = client.get("/console/requests/new")
    assert page.status_code == 200
    text = page.data.decode()
    return {
        "csrf_token": csrf(page.data),
        "fund_id": option(text, "Gaza Reconstruction Fund 2021"),
        "project_id": option(text, "Shelter repair, Gaza City"),
        "payee_id": option(text, payee),
        "amount": "125000.00",
        "currency": "USD",
        "fx_rate": "",
        "purpose": "Roof sheeting for 50 housing units",
        **changes,
    }


def test_the_clerk_submits_a_request_that_reaches_the_members_queue(runner, client):
    as_member(runner, client, "clerk")
    home = client.get("/console/").data.decode()
    assert "/console/requests/new" in home
    sent = client.post(
        "/console/requests/new", data=submission(client, "Al-Bina Contracting Company")
    )
    assert sent.status_code == 302
    page = client.get(sent.location).data.decode()
    assert "Roof sheeting for 50 housing units" in page and "125000.00 USD" in page
    assert "pending" in page
    as_member(runner, client, "member-un")
    assert "Roof sheeting for 50 housing units" in client.get("/console/queue").data.decode()


def test_a_refused_submission_says_why_and_is_kept(runner, client):
    as_member(runner, client, "clerk")
    restricted = client.post(
        "/console/requests/new", data=submission(client, "Al-Nour Construction and Trading")
    )
    assert restricted.status_code == 409
    assert "cannot be paid or approved for payment" in restricted.data.decode()
    refusals = client.get("/api/v1/refusals", headers=AUDITOR).get_json()["items"]
    assert any(r["code"] == "payee_restricted" for r in refusals)

    euros = client.post(
        "/console/requests/new",
        data=submission(client, "Al-Bina Contracting Company", currency="EUR"),
    )
    assert euros.status_code == 422
    assert "Required: the rate from EUR" in euros.data.decode()
    nothing = client.post(
        "/console/requests/new", data=submission(client, "Al-Bina Contracting Company", amount="0")
    )
    assert nothing.status_code == 422 and "Must be greater than zero." in nothing.data.decode()
    listed = client.get("/api/v1/spending-requests?limit=50", headers=AUDITOR).get_json()
    assert "Roof sheeting" not in str(listed["items"])


def test_everyone_reads_the_requests_by_status_and_only_the_clerk_submits(runner, client):
    as_member(runner, client, "treasurer")
    every = client.get("/console/requests").data.decode()
    for shown in (
        "Equipment for three primary clinics",
        "Clearance of Beit Hanoun industrial zone",
        "North Gaza Rubble Clearance Ltd",
        "2500000.00 USD",
        'href="/console/requests/4"',
    ):
        assert shown in every, shown
    rejected = client.get("/console/requests?status=rejected").data.decode()
    assert "Clearance of Beit Hanoun industrial zone" in rejected
    assert "Equipment for three primary clinics" not in rejected
    assert client.get("/console/requests/new").status_code == 403
    token = csrf(client.get("/console/").data)
    assert client.post("/console/requests/new", data={"csrf_token": token}).status_code == 403
