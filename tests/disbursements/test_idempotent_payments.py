"""A payment's Idempotency-Key is claimed in the request's own transaction, and
only by a caller the request lets through: whatever refuses the request (its
token, its role, its body) leaves the key free, and a corrected retry pays."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ledger.auth.models import ApiToken
from ledger.idempotency.models import IdempotencyKey
from tests.factories import statements
from tests.test_api_conventions import assert_problem


def test_a_revoked_token_claims_nothing(app, ledger, session):
    world = ledger.approved("100.00")
    session.execute(
        sa.update(ApiToken)
        .where(ApiToken.user_id == ledger.user_ids["treasurer"])
        .values(revoked_at=dt.datetime.now(dt.UTC))
    )
    session.commit()
    key = str(uuid.uuid4())
    with statements(app) as seen:
        response = ledger.raw("POST", "/disbursements", "treasurer", pay_body(world, "P"), key=key)
    assert_problem(response, 401, "unauthenticated")
    assert not [s for s in seen if "INSERT INTO idempotency_keys" in s]
    assert keys_stored(session, key) == 0


def test_a_caller_without_the_role_leaves_the_key_free(ledger, session):
    world = ledger.approved("100.00")
    key = str(uuid.uuid4())
    assert_problem(
        ledger.raw("POST", "/disbursements", "clerk", pay_body(world, "P"), key=key),
        403,
        "forbidden",
    )
    assert keys_stored(session, key) == 0
    # A refused body leaves it free too, and the corrected retry pays.
    bad = dict(pay_body(world, "P"), amount="-1.00")
    refused = ledger.raw("POST", "/disbursements", "treasurer", bad, key=key)
    assert refused.status_code == 422, refused.get_data(as_text=True)
    assert keys_stored(session, key) == 0
    paid = ledger.raw("POST", "/disbursements", "treasurer", pay_body(world, "P"), key=key)
    assert paid.status_code == 201
    assert keys_stored(session, key) == 1


def test_a_key_reused_for_another_body_is_refused_after_the_claim(ledger):
    world = ledger.approved("100.00")
    key = str(uuid.uuid4())
    assert (
        ledger.raw("POST", "/disbursements", "treasurer", pay_body(world, "A"), key=key).status_code
        == 201
    )
    response = ledger.raw("POST", "/disbursements", "treasurer", pay_body(world, "B"), key=key)
    assert_problem(response, 422, "idempotency_key_reused")


def test_a_batch_file_over_the_general_body_limit_is_still_read(app, ledger, monkeypatch):
    """The batch upload sets its own, larger, body limit (its blueprint's hook runs
    after authentication): a body over the general limit is claimed by the view's
    wrapper as before, not read (and refused, 413) at authentication."""
    from tests.batches.world import csv_file, households, programme, submit

    world = programme(ledger)
    data = csv_file(households(40))
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", len(data) // 2)
    batch = submit(ledger, world, data)
    assert batch["progress"]["rows"]["total"] == 40


def test_the_answer_is_stored_and_replayed_byte_for_byte(ledger, session):
    world = ledger.approved("100.00")
    key = str(uuid.uuid4())
    paid = ledger.raw("POST", "/disbursements", "treasurer", pay_body(world, "P-1"), key=key)
    assert paid.status_code == 201, paid.get_data(as_text=True)
    stored = session.scalars(sa.select(IdempotencyKey).where(IdempotencyKey.key == key)).one()
    assert stored.status_code == 201 and stored.response_body == paid.get_data(as_text=True)
    session.rollback()
    again = ledger.raw("POST", "/disbursements", "treasurer", pay_body(world, "P-1"), key=key)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == paid.get_data()


def keys_stored(session: Session, key: str) -> int:
    """How many rows hold ``key`` (read in a transaction of its own, ended at once:
    on SQLite an open one would hold the write lock the next request needs)."""
    try:
        found = session.scalars(sa.select(IdempotencyKey).where(IdempotencyKey.key == key))
        return len(found.all())
    finally:
        session.rollback()


def pay_body(world: dict[str, Any], reference: str) -> dict[str, Any]:
    return {
        "spending_request_id": world["request"]["id"],
        "amount": "3.00",
        "currency": "USD",
        "reference": reference,
    }
