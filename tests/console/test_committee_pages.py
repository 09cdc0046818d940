"""The committee member's pages (issue 24, item 2): my queue; a request with its
fund, project, payee, amounts, quorum and what is missing, the votes, the payee's
screening; the vote, refused with the service's own reason (and kept as a
refusal, as through the API) when the member is recused."""

from __future__ import annotations

from tests.console.test_sign_in import csrf, sign_in

AUDITOR = {"Authorization": "Bearer demo-auditor-token"}


def as_member(runner, client, name: str) -> None:  # type: ignore[no-untyped-def]
    assert runner.invoke(args=["demo", "load", "--if-empty"]).exit_code == 0
    assert sign_in(client, name, f"demo-{name}-password").status_code == 302


def test_a_member_sees_the_queue_and_the_request_and_votes(runner, client):
    as_member(runner, client, "member-un")
    queue = client.get("/console/queue").data.decode()
    assert "Equipment for three primary clinics" in queue
    page = client.get("/console/requests/4")
    text = page.data.decode()
    assert page.status_code == 200
    for shown in (
        "Gaza Reconstruction Fund 2021",
        "Primary health clinics, Deir al-Balah",
        "Health",
        "Deir al-Balah Health Services Cooperative",
        "750000.00 USD",
        "Still missing",
        "Qatar",
        "clear: no restriction",
        "Cast my vote",
    ):
        assert shown in text, shown
    empty = client.post(
        "/console/requests/4/vote", data={"csrf_token": csrf(page.data), "decision": "approve"}
    )
    assert empty.status_code == 422
    voted = client.post(
        "/console/requests/4/vote",
        data={
            "csrf_token": csrf(page.data),
            "decision": "approve",
            "comment": "Equipment list checked against the WHO kit.",
        },
    )
    assert voted.status_code == 302
    after = client.get("/console/requests/4").data.decode()
    assert "Equipment list checked against the WHO kit." in after
    assert "You have voted on this request." in after
    assert "Equipment for three primary clinics" not in client.get("/console/queue").data.decode()
    votes = client.get("/api/v1/spending-requests/4/votes", headers=AUDITOR).get_json()
    assert [v["institution"] for v in votes["items"]] == ["Qatar", "UN"]


def test_a_recused_member_sees_why_and_a_forced_vote_is_refused_and_kept(runner, client):
    as_member(runner, client, "member-qatar")
    page = client.get("/console/requests/5")
    assert b"You declared a conflict of interest" in page.data
    # The page offers no vote: a forged post (with a valid session token) is refused.
    token = csrf(client.get("/console/").data)
    refused = client.post(
        "/console/requests/5/vote",
        data={"csrf_token": token, "decision": "approve", "comment": "Fine."},
    )
    assert refused.status_code == 403  # conflict_of_interest, as the API answers it
    assert b"recused from its requests" in refused.data
    refusals = client.get("/api/v1/refusals", headers=AUDITOR).get_json()["items"]
    assert any(r["code"] == "conflict_of_interest" for r in refusals)


def test_the_queue_is_the_members_own(runner, client):
    as_member(runner, client, "treasurer")
    assert client.get("/console/queue").status_code == 403
    assert b"Only committee members vote." in client.get("/console/requests/4").data


def test_the_request_page_shows_the_use_reports_and_who_decided_them(runner, client):
    as_member(runner, client, "auditor")
    page = client.get("/console/requests/9").data.decode()
    assert "Repair of 160 housing units, phase 2" in page
    for shown in ("Use reports", "180000.00 USD", "UR-2021-0004-1", "Invoices for 72 units."):
        assert shown in page, shown
    assert "<td>submitted</td>" in page
    report = client.get("/api/v1/spending-requests/9/use-reports", headers=AUDITOR).get_json()
    accepted = client.post(
        f"/api/v1/use-reports/{report['items'][0]['id']}/accept",
        json={"note": "Invoices checked against the units."},
        headers={"Authorization": "Bearer demo-treasurer-token"},
    )
    assert accepted.status_code == 200, accepted.get_data(as_text=True)
    page = client.get("/console/requests/9").data.decode()
    assert "<td>accepted</td>" in page
    assert "<bdi>treasurer</bdi>" in page and "Invoices checked against the units." in page
    assert "The batch this request pays" not in page  # not a batch's request
