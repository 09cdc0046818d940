"""Token lifetime and rotation: tokens issued through the API and the CLI expire
after TOKEN_LIFETIME_DAYS; rotating is issuing a new one, then revoking the old."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ledger.auth.models import ApiToken


def test_tokens_issued_through_the_api_expire_after_the_configured_lifetime(
    ledger, app, session: Session
):
    created = ledger.call(
        "POST", "/users", "admin", {"name": "Amal Haddad", "roles": ["clerk"]}, expect=201
    )

    expires_at = session.scalar(
        sa.select(ApiToken.expires_at).where(ApiToken.id == created["token_id"])
    )
    assert expires_at is not None
    lifetime = expires_at - dt.datetime.now(dt.UTC)
    expected = dt.timedelta(days=app.config["TOKEN_LIFETIME_DAYS"])
    assert expected - dt.timedelta(minutes=5) < lifetime <= expected


def test_rotation_new_token_works_at_once_and_the_old_one_stops_when_revoked(ledger):
    user_id = ledger.user_ids["treasurer"]
    old = ledger.tokens["treasurer"]
    old_id = ledger.get(f"/users/{user_id}/tokens", as_="admin")["items"][0]["id"]

    rotated = ledger.call("POST", f"/users/{user_id}/tokens", "admin", expect=201)
    new = rotated["token"]
    both_work = [ledger.raw("GET", "/me", tok).status_code for tok in (old, new)]
    ledger.call("POST", f"/tokens/{old_id}/revoke", new, expect=200)

    assert both_work == [200, 200]
    assert new != old and new.startswith("ldg_")
    assert ledger.raw("GET", "/me", old).status_code == 401
    assert ledger.call("GET", "/me", new)["name"] == "treasurer"


def test_token_values_are_never_listed(ledger):
    listed = ledger.get(f"/users/{ledger.user_ids['clerk']}/tokens", as_="admin")["items"]

    assert listed
    for token in listed:
        assert "token" not in token and "token_hash" not in token
        assert ledger.tokens["clerk"] not in str(token)


def test_no_token_nor_its_hash_reaches_the_audit_trail(ledger, session: Session):
    """Issuing and revoking tokens is audited; the events carry neither a token nor
    the hash that looks it up (a hash of a token is as good as a lookup key)."""
    user_id = ledger.user_ids["treasurer"]
    rotated = ledger.call("POST", f"/users/{user_id}/tokens", "admin", expect=201)
    ledger.call("POST", f"/tokens/{rotated['token_id']}/revoke", "admin", expect=200)

    hashes = set(session.scalars(sa.select(ApiToken.token_hash)))
    session.rollback()
    events = ledger.get("/audit-events?action=token.issued&limit=500")["items"]
    events += ledger.get("/audit-events?action=token.revoked&limit=500")["items"]
    assert {e["action"] for e in events} == {"token.issued", "token.revoked"}
    trail = str(ledger.get("/audit-events?limit=500")["items"])
    for event in events:
        for state in (event["before"], event["after"]):
            assert state is None or "token_hash" not in state
    assert not [h for h in hashes if h in trail]
    assert rotated["token"] not in trail
