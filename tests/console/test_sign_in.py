"""Signing in to the console (issue 24, item 1): a password set through a one-time
invitation, argon2-hashed; a session cookie HttpOnly and SameSite=Lax; CSRF on
every form; lockout after repeated failures; sign-out; idle expiry. API tokens
keep working beside it."""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa

from ledger.auth.models import Credential
from ledger.db import clock_at

PASSWORD = "olive-harbour-7-quarry"


def csrf(page: bytes) -> str:
    found = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1).decode()


def invite(runner, name: str) -> str:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["users", "invite", name])
    assert result.exit_code == 0, result.output
    link = result.output.strip().splitlines()[-1]
    assert link.startswith("http://127.0.0.1:5000/console/invitations/")
    return link.removeprefix("http://127.0.0.1:5000")


def set_password(client, path: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    token = csrf(client.get(path).data)
    return client.post(path, data={"csrf_token": token, "password": password, "confirm": password})


def sign_in(client, name: str, password: str = PASSWORD, **extra):  # type: ignore[no-untyped-def]
    token = csrf(client.get("/console/sign-in").data)
    return client.post(
        "/console/sign-in",
        data={"csrf_token": token, "name": name, "password": password},
        **extra,
    )


def test_an_invitation_sets_a_password_once_and_the_user_signs_in(ledger, runner, client, session):
    path = invite(runner, "treasurer")
    weak = set_password(client, path, "short")
    assert weak.status_code == 422 and b"At least 12 characters" in weak.data
    done = set_password(client, path)
    assert done.status_code == 302 and done.location.endswith("/console/sign-in")
    assert client.get(path).status_code == 404  # spent
    stored = session.scalars(sa.select(Credential.password_hash)).one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored

    wrong = sign_in(client, "treasurer", "not-the-password-at-all")
    assert wrong.status_code == 401 and b"wrong" in wrong.data
    signed = sign_in(client, "treasurer")
    assert signed.status_code == 302 and signed.location.endswith("/console/")
    cookie = signed.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    home = client.get("/console/")
    assert home.status_code == 200 and b"Welcome, treasurer" in home.data
    assert "form-action 'self'" in home.headers["Content-Security-Policy"]
    # Scripts keep their tokens.
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {ledger.tokens['treasurer']}"})
    assert me.status_code == 200


def test_forms_without_their_csrf_token_are_refused(ledger, runner, client):
    set_password(client, invite(runner, "auditor"))
    refused = client.post("/console/sign-in", data={"name": "auditor", "password": PASSWORD})
    assert refused.status_code == 400
    assert client.get("/console/").status_code == 302
    sign_in(client, "auditor")
    assert client.post("/console/sign-out", data={}).status_code == 400
    assert client.get("/console/").status_code == 200


def test_repeated_failures_lock_the_account_for_a_while(ledger, runner, client):
    set_password(client, invite(runner, "clerk"))
    for _ in range(4):
        assert sign_in(client, "clerk", "guess-guess-guess").status_code == 401
    locked = sign_in(client, "clerk", "guess-guess-guess")
    assert b"locked until" in locked.data
    still = sign_in(client, "clerk")  # the right password, while locked
    assert still.status_code == 401 and b"locked until" in still.data
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=16)
    with clock_at(later):
        assert sign_in(client, "clerk").status_code == 302


def test_sign_out_ends_the_session_and_an_unknown_name_says_nothing(ledger, runner, client):
    set_password(client, invite(runner, "admin"))
    assert sign_in(client, "nobody-here", PASSWORD).status_code == 401
    sign_in(client, "admin")
    home = client.get("/console/")
    out = client.post("/console/sign-out", data={"csrf_token": csrf(home.data)})
    assert out.status_code == 302
    after = client.get("/console/")
    assert after.status_code == 302 and "/console/sign-in" in after.location


def test_after_sign_in_it_goes_only_to_a_console_page(ledger, runner, client):
    set_password(client, invite(runner, "compliance"))
    token = csrf(client.get("/console/sign-in").data)
    away = client.post(
        "/console/sign-in?next=https://evil.example/",
        data={"csrf_token": token, "name": "compliance", "password": PASSWORD},
    )
    assert away.location.endswith("/console/")
    assert client.get("/").location.endswith("/console/")


def test_an_unknown_user_cannot_be_invited(runner):
    result = runner.invoke(args=["users", "invite", "nobody"])
    assert result.exit_code != 0 and "No active user named 'nobody'" in result.output


def test_demo_users_sign_in_with_the_password_demo_load_prints(runner, client):
    result = runner.invoke(args=["demo", "load"])
    assert "demo-member-un-password" in result.output
    assert sign_in(client, "member-un", "demo-member-un-password").status_code == 302
    assert b"Welcome, member-un" in client.get("/console/").data
