"""Compliance's pages on the 2021 demo (issue 24, item 3): a payee with its
screening state, restrictions and review cases; restricting, and lifting by a
second officer only (the first one's attempt refused, shown and kept); refused
attempts with their evidence as a table; watchlist versions and what each import
changed; proposed group clearances approved by a second officer."""

from __future__ import annotations

import io
import re

from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests.console.test_committee_pages import as_member
from tests.console.test_sign_in import csrf, sign_in


def token(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer demo-{name}-token"}


def payee_id(client, name: str) -> int:  # type: ignore[no-untyped-def]
    found = client.get(f"/api/v1/payees?name={name}", headers=token("auditor")).get_json()
    return int(found["items"][0]["id"])


def switch(client, name: str) -> None:  # type: ignore[no-untyped-def]
    client.post("/console/sign-out", data={"csrf_token": csrf(client.get("/console/").data)})
    assert sign_in(client, name, f"demo-{name}-password").status_code == 302


def import_fund_list(client, rows: list[str]) -> dict:  # type: ignore[no-untyped-def,type-arg]
    data = "\n".join(["id,kind,name,programme", *rows]).encode()
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(data), filename="fund.csv")})
    response = client.post(
        "/api/v1/watchlists/fund/versions",
        data=body,
        headers=token("compliance-1"),
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 202, response.get_data(as_text=True)
    answer = response.get_json()
    # The re-screening is a job, run at once in the tests (JOBS_INLINE).
    job = client.get(f"/api/v1/jobs/{answer['job_id']}", headers=token("compliance-1")).get_json()
    assert job["state"] == "done", job
    return {**answer, "rescreen": job["progress"]}


FIRST = [
    "F-1,person,Khalil Abu Shaaban,Fund vetting 2021",
    "F-2,organization,Sunrise Trading Est.,Fund vetting 2021",
    "F-3,person,Yusuf Haddad Qasim,Fund vetting 2021",
]
SECOND = [
    "F-1,person,Khalil Abu Shaaban,Fund vetting 2021",
    "F-2,organization,Sunrise General Trading Est.,Fund vetting 2022",
    "F-4,organization,Blue Harbour Shipping,Fund vetting 2022",
]


def test_a_payee_page_shows_names_screening_and_restrictions(runner, client):
    as_member(runner, client, "compliance-1")
    bina = client.get(f"/console/payees/{payee_id(client, 'Al-Bina')}")
    text = bina.data.decode()
    assert bina.status_code == 200
    for shown in (
        "Al-Bina Contracting Company",
        "شركة البناء للمقاولات",
        "562310447",
        "Al Bina Contracting",
        "Khalil Abu Shaaban",
        "director",
        "clear: no restriction",
        "No restriction.",
        "Restrict this payee",
    ):
        assert shown in text, shown
    flagged = payee_id(client, "Al-Nour")
    text = client.get(f"/console/payees/{flagged}").data.decode()
    assert "Not payable now" in text and "CV-2021-014" in text and "compliance-1" in text

    waterworks = payee_id(client, "Khan Younis")
    page = client.get(f"/console/payees/{waterworks}")
    empty = client.post(
        f"/console/payees/{waterworks}/restrict", data={"csrf_token": csrf(page.data)}
    )
    assert empty.status_code == 422
    done = client.post(
        f"/console/payees/{waterworks}/restrict",
        data={"csrf_token": csrf(page.data), "reason": "Bank account under inquiry."},
    )
    assert done.status_code == 302
    text = client.get(done.location).data.decode()
    assert "is set: the payee cannot be paid" in text and "Bank account under inquiry." in text
    assert "Not payable now" in text

    switch(client, "clerk")  # reads payees, not review cases; restricts nothing
    page = client.get(f"/console/payees/{waterworks}")
    assert page.status_code == 200 and b"Bank account under inquiry." in page.data
    assert b"Restrict this payee" not in page.data and b"Review cases" not in page.data
    forged = client.post(
        f"/console/payees/{waterworks}/restrict",
        data={"csrf_token": csrf(client.get("/console/").data), "reason": "No."},
    )
    assert forged.status_code == 403


def test_lifting_is_four_eyes_and_the_refusal_is_shown_and_kept(runner, client):
    as_member(runner, client, "compliance-1")
    waterworks = payee_id(client, "Khan Younis")
    page = client.get(f"/console/payees/{waterworks}")
    set_ = client.post(
        f"/console/payees/{waterworks}/restrict",
        data={"csrf_token": csrf(page.data), "reason": "Bank account under inquiry."},
    )
    assert set_.status_code == 302
    listed = client.get("/console/restrictions")
    text = listed.data.decode()
    assert listed.status_code == 200
    assert text.index("Bank account under inquiry.") < text.index("CV-2021-014")  # latest first
    restriction = client.get(
        f"/api/v1/payees/{waterworks}/restrictions", headers=token("auditor")
    ).get_json()["items"][0]["id"]

    def lift(reason: str):  # type: ignore[no-untyped-def]
        return client.post(
            f"/console/restrictions/{restriction}/lift",
            data={"csrf_token": csrf(client.get("/console/restrictions").data), "reason": reason},
        )

    refused = lift("The inquiry closed.")
    assert refused.status_code == 403
    assert b"Whoever set a restriction cannot lift it" in refused.data
    kept = client.get(
        "/api/v1/refusals?code=separation_of_duties", headers=token("auditor")
    ).get_json()["items"]
    assert [r["payee_id"] for r in kept] == [waterworks]

    switch(client, "auditor")
    forged = client.post(
        f"/console/restrictions/{restriction}/lift",
        data={"csrf_token": csrf(client.get("/console/").data), "reason": "No."},
    )
    assert forged.status_code == 403
    assert b"Reason for lifting" not in client.get("/console/restrictions").data

    switch(client, "compliance-2")
    assert lift("").status_code == 422
    lifted = lift("The inquiry closed: the account is the cooperative's.")
    assert lifted.status_code == 302
    text = client.get(lifted.location).data.decode()
    assert f"Restriction {restriction} is lifted." in text
    assert "compliance-2" in text and "the account is the cooperative&#39;s." in text
    state = client.get(f"/api/v1/restrictions/{restriction}", headers=token("auditor")).get_json()
    assert state["active"] is False


def test_refusals_show_their_evidence_as_a_table(runner, client):
    as_member(runner, client, "auditor")
    flagged = payee_id(client, "Al-Nour")
    refused = client.post(
        "/api/v1/spending-requests",
        json={
            "fund_id": 1,
            "project_id": 1,
            "payee_id": flagged,
            "amount": "1000.00",
            "currency": "USD",
            "purpose": "Shelter repairs.",
        },
        headers=token("clerk"),
    )
    assert refused.status_code == 409, refused.get_data(as_text=True)
    listed = client.get("/console/refusals")
    text = listed.data.decode()
    assert listed.status_code == 200 and "payee_restricted" in text and "clerk" in text
    assert "Al-Nour Construction and Trading" in text
    refusal = client.get("/api/v1/refusals?code=payee_restricted", headers=token("auditor"))
    found = refusal.get_json()["items"][0]["id"]
    page = client.get(f"/console/refusals/{found}")
    text = page.data.decode()
    assert page.status_code == 200
    for shown in ("What blocked it", "restricted", "Reason for the restriction", "CV-2021-014"):
        assert shown in text, shown
    assert "{&#34;" not in text and '{"' not in text  # a table, not JSON

    switch(client, "clerk")
    assert client.get("/console/refusals").status_code == 403
    assert client.get(f"/console/refusals/{found}").status_code == 403


def test_watchlist_versions_show_what_each_import_changed(runner, client):
    as_member(runner, client, "member-un")  # every role reads the lists
    first = import_fund_list(client, FIRST)
    second = import_fund_list(client, SECOND)
    assert first["rescreen"]["cases_opened"] == 1  # Al-Bina's director
    text = client.get("/console/watchlists").data.decode()
    assert "fund" in text and "compliance-1" in text
    page = client.get(f"/console/watchlists/versions/{second['version']['id']}")
    text = page.data.decode()
    assert page.status_code == 200
    assert "1 added, 1 changed, 1 removed" in text
    assert text.index("Blue Harbour Shipping") < text.index("Sunrise Trading Est.")
    assert "Sunrise General Trading Est." in text and "Fund vetting 2022" in text
    assert "Yusuf Haddad Qasim" in text
    text = client.get(f"/console/watchlists/versions/{first['version']['id']}").data.decode()
    assert "3 added, 0 changed, 0 removed" in text
    assert "1 possible matches on the screening it ran" in text


def test_a_proposed_group_clearance_is_approved_by_a_second_officer(
    app, runner, client, monkeypatch
):
    as_member(runner, client, "compliance-1")
    import_fund_list(client, FIRST)
    bina = payee_id(client, "Al-Bina")
    groups = client.get("/console/review-cases")
    text = groups.data.decode()
    assert "Khalil Abu Shaaban" in text and "Al-Bina Contracting Company" in text
    assert f"/console/payees/{bina}" in text  # the payee beside the listed party
    text = client.get(f"/console/payees/{bina}").data.decode()
    assert "an open review case" in text and "Review cases" in text
    refused = client.post(
        "/api/v1/spending-requests",
        json={
            "fund_id": 1,
            "project_id": 1,
            "payee_id": bina,
            "amount": "1000.00",
            "currency": "USD",
            "purpose": "Shelter repairs.",
        },
        headers=token("clerk"),
    )
    assert refused.status_code == 409  # a screening refusal: its evidence, readably
    kept = client.get(f"/api/v1/refusals?payee_id={bina}", headers=token("auditor")).get_json()
    text = client.get(f"/console/refusals/{kept['items'][0]['id']}").data.decode()
    for shown in ("an open review case", "Listed name matched", "Khalil Abu Shaaban", "fund"):
        assert shown in text, shown

    group = client.get("/api/v1/review-case-groups", headers=token("auditor")).get_json()
    group = group["items"][0]
    # Every clearance needs a second officer (the app is shared: set for this test only).
    monkeypatch.setitem(app.config, "TRIAGE_SECOND_OFFICER_ABOVE", 0)
    proposed = client.post(
        "/console/review-cases/decide",
        data={
            "csrf_token": csrf(groups.data),
            "entry_id": group["entry_id"],
            "listed_key": group["listed_key"],
            "decision": "clear",
            "reason": "The director's ID card differs from the listing.",
        },
    )
    page = client.get(proposed.location)
    assert b"a second compliance officer approves it" in page.data
    assert b"Clearances awaiting a second officer" in page.data
    still = client.get("/api/v1/review-case-groups", headers=token("auditor")).get_json()
    assert still["items"][0]["cases"] == 1  # the cases stay open until approved
    found = re.search(
        r'action="(/console/review-cases/clearances/\d+/approve)"', page.data.decode()
    )
    assert found, "no approve form"
    target = found.group(1)
    own = client.post(target, data={"csrf_token": csrf(page.data)})
    assert own.status_code == 403
    assert b"not its proposer, approves it" in own.data

    switch(client, "compliance-2")
    approved = client.post(
        target, data={"csrf_token": csrf(client.get("/console/review-cases").data)}
    )
    assert approved.status_code == 302
    text = client.get(approved.location).data.decode()
    assert "approved: 1 cases cleared." in text and "No open review case." in text

    switch(client, "auditor")
    forged = client.post(target, data={"csrf_token": csrf(client.get("/console/").data)})
    assert forged.status_code == 403
