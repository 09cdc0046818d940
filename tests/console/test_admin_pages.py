"""The admin's pages (issue 24, item 6): users with their roles and institutions;
creating one, refused with the API's own reason; an invitation link shown once
that sets the new user's password; API tokens issued (shown once) and revoked, a
revoked token then refused by the API."""

from __future__ import annotations

import re

from tests.console.test_committee_pages import as_member
from tests.console.test_sign_in import PASSWORD, csrf, set_password, sign_in

SECRET = re.compile(r'<code class="secret" dir="ltr">([^<]+)</code>')


def create(client, **fields):  # type: ignore[no-untyped-def]
    token = csrf(client.get("/console/users").data)
    return client.post("/console/users", data={"csrf_token": token, **fields})


def test_the_admin_creates_invites_and_gives_a_token_then_revokes_it(runner, client):
    as_member(runner, client, "admin")
    listing = client.get("/console/users").data.decode()
    for shown in ("member-egypt", "Egypt", "committee member", "chair", "Institutions"):
        assert shown in listing, shown

    no_institution = create(client, name="nadia", roles="committee_member", institution="")
    assert no_institution.status_code == 422
    assert "Committee members belong to an institution." in no_institution.data.decode()
    taken = create(client, name="clerk", roles="clerk")
    assert taken.status_code == 409 and "exists already" in taken.data.decode()

    made = create(client, name="nadia", roles="committee_member", institution="UN")
    assert made.status_code == 302
    user_path = made.location
    page = client.get(user_path)
    assert "nadia" in page.data.decode() and "not set" in page.data.decode()
    assert "nadia" in client.get("/console/users").data.decode().split("Institutions")[1]

    invited = client.post(user_path + "/invite", data={"csrf_token": csrf(page.data)})
    assert invited.status_code == 200
    link = SECRET.search(invited.data.decode())
    assert link and link.group(1).startswith("http://127.0.0.1:5000/console/invitations/")
    assert link.group(1) not in client.get(user_path).data.decode()  # shown once

    issued = client.post(user_path + "/tokens", data={"csrf_token": csrf(page.data)})
    token = SECRET.search(issued.data.decode())
    assert token and token.group(1).startswith("ldg_")
    bearer = {"Authorization": f"Bearer {token.group(1)}"}
    me = client.get("/api/v1/me", headers=bearer)
    assert me.status_code == 200 and me.get_json()["institution"] == "UN"
    token_id = re.search(r'action="/console/tokens/(\d+)/revoke"', issued.data.decode())
    assert token_id
    revoked = client.post(
        f"/console/tokens/{token_id.group(1)}/revoke", data={"csrf_token": csrf(page.data)}
    )
    assert revoked.status_code == 302 and revoked.location.endswith(user_path)
    assert "revoked on" in client.get(user_path).data.decode()
    assert client.get("/api/v1/me", headers=bearer).status_code == 401

    path = link.group(1).removeprefix("http://127.0.0.1:5000")
    assert set_password(client, path).status_code == 302
    assert sign_in(client, "nadia", PASSWORD).status_code == 302
    assert "Welcome, nadia" in client.get("/console/").data.decode()
    assert client.get("/console/users").status_code == 403


def test_only_the_admin_manages_users_and_tokens(runner, client):
    as_member(runner, client, "clerk")
    assert client.get("/console/users").status_code == 403
    assert client.get("/console/users/1").status_code == 403
    token = csrf(client.get("/console/").data)
    assert client.post("/console/users/1/tokens", data={"csrf_token": token}).status_code == 403
    assert client.post("/console/users/1/invite", data={"csrf_token": token}).status_code == 403
    refused = client.post("/console/tokens/1/revoke", data={"csrf_token": token})
    assert refused.status_code == 403  # the service's rule: one's own tokens only
    assert "Only an admin may revoke another user" in refused.data.decode()
    assert "/console/users" not in client.get("/console/").data.decode()
