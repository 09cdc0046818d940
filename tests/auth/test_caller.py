"""The request's caller: the user and roles the token lookup read, immutable, not a
mapped ``User`` in the request's session (docs/architecture.md, "The caller")."""

from __future__ import annotations

import dataclasses

import pytest
from flask import g

from ledger.auth.access import current_user, load_user
from ledger.auth.models import Caller, User
from ledger.db import db


def test_me_answers_the_caller_as_the_user_is_stored(ledger):
    user_id = ledger.user_ids["member-egypt2"]  # a member: an institution

    me = ledger.get("/me", as_="member-egypt2")
    stored = ledger.get(f"/users/{user_id}", as_="admin")

    assert me == stored
    assert (me["roles"], me["institution"]) == (["committee_member"], "Egypt")


def test_the_caller_is_immutable_and_not_in_the_session(app, ledger):
    headers = {"Authorization": f"Bearer {ledger.tokens['treasurer']}"}
    with app.test_request_context("/api/v1/me", headers=headers):
        load_user()
        caller = current_user()

        assert isinstance(caller, Caller)
        assert caller is g.user
        assert caller.id == ledger.user_ids["treasurer"]
        assert caller.has_role("treasurer") and not caller.has_role("admin")
        with pytest.raises(dataclasses.FrozenInstanceError):
            caller.name = "someone else"  # type: ignore[misc]
        assert not [o for o in db.session.identity_map.values() if isinstance(o, User)]


def test_a_role_taken_away_counts_from_the_next_request(ledger, session):
    """Nothing about the caller outlives its request: each request reads it again."""
    ledger.get("/me", as_="treasurer")
    user_id = ledger.user_ids["treasurer"]
    user = session.get(User, user_id)
    assert user is not None
    user.role_rows = []
    session.commit()

    assert ledger.get("/me", as_="treasurer")["roles"] == []
    refused = ledger.raw("GET", "/disbursements", "treasurer")
    assert refused.status_code == 403
