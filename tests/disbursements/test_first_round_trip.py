"""A money-moving request's Idempotency-Key is claimed by the token lookup's own
statement, and its answer stored by the audit chain step's (PostgreSQL). Only a
token that authenticates claims anything, and whatever then refuses the request (its
role, its body) leaves the key free. Every test runs with and without
``DATABASE_PIPELINE``."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ledger.auth.models import ApiToken
from ledger.idempotency.models import IdempotencyKey
from tests.disbursements.test_in_database import statements
from tests.factories import use_pipeline
from tests.test_api_conventions import assert_problem

pytestmark = pytest.mark.postgresql_only


@pytest.fixture(autouse=True, params=[False, True], ids=["one-after-another", "pipelined"])
def pipelined(request, app, monkeypatch):
    """The engine with and without ``DATABASE_PIPELINE``."""
    use_pipeline(app, monkeypatch, request.param)
    return request.param


def test_pipelines_carry_the_statements_only_when_set(ledger, pipelined, monkeypatch):
    """Two pipelines a payment with the setting (the lookup with the claim; the
    audit events, the answer and COMMIT), none without it, and the same payment."""
    import psycopg

    opened = []
    pipeline = psycopg.Connection.pipeline

    def counted(self: Any) -> Any:
        opened.append(1)
        return pipeline(self)

    monkeypatch.setattr(psycopg.Connection, "pipeline", counted)
    world = ledger.approved("100.00")
    opened.clear()
    key = str(uuid.uuid4())
    paid = ledger.raw("POST", "/disbursements", "treasurer", pay_body(world, "P-1"), key=key)
    assert paid.status_code == 201, paid.get_data(as_text=True)
    assert len(opened) == (2 if pipelined else 0)
    again = ledger.raw("POST", "/disbursements", "treasurer", pay_body(world, "P-1"), key=key)
    assert again.get_json() == paid.get_json()
    assert ledger.trial_balance(world["fund"]["id"])["balanced"] is True


def claims(seen: list[str]) -> tuple[int, int]:
    """(claims made inside the token lookup's statement, claims made on their own)."""
    inserts = [s for s in seen if "INSERT INTO idempotency_keys" in s]
    with_token = sum("FROM users JOIN api_tokens" in s for s in inserts)
    return with_token, len(inserts) - with_token


def keys_stored(session: Session, key: str) -> int:
    session.expire_all()
    return len(session.scalars(sa.select(IdempotencyKey).where(IdempotencyKey.key == key)).all())


def pay_body(world: dict[str, Any], reference: str) -> dict[str, Any]:
    return {
        "spending_request_id": world["request"]["id"],
        "amount": "3.00",
        "currency": "USD",
        "reference": reference,
    }


def test_the_key_is_claimed_with_the_token_lookup(app, ledger, session):
    world = ledger.approved("100.00")
    key = str(uuid.uuid4())
    with statements(app) as seen:
        first = ledger.raw("POST", "/disbursements", "treasurer", pay_body(world, "P-1"), key=key)
        again = ledger.raw("POST", "/disbursements", "treasurer", pay_body(world, "P-1"), key=key)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.get_json() == again.get_json()
    # The claim is part of the lookup's statement: one statement, one round trip.
    lookups = [s for s in seen if "FROM users JOIN api_tokens" in s]
    assert len(lookups) == 2 and all("FROM api_tokens AS t" in s for s in lookups)
    assert claims(seen) == (2, 0)
    assert keys_stored(session, key) == 1
    reversed_ = ledger.raw(
        "POST",
        f"/disbursements/{first.get_json()['id']}/reverse",
        "treasurer",
        {"reason": "Returned by the bank"},
        key=str(uuid.uuid4()),
    )
    assert reversed_.status_code == 200, reversed_.get_data(as_text=True)


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
    assert claims(seen) == (1, 0)  # sent, and it inserted nothing
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


def test_the_answer_runs_inside_the_audit_chain_statement(app, ledger, session):
    """The stored answer is an independent UPDATE: it runs as a CTE of the chain
    step, one statement, and is stored all the same (the replay shows it)."""
    world = ledger.approved("100.00")
    key = str(uuid.uuid4())
    with statements(app) as seen:
        paid = ledger.raw("POST", "/disbursements", "treasurer", pay_body(world, "P-1"), key=key)
    assert paid.status_code == 201
    answers = [s for s in seen if "UPDATE idempotency_keys" in s]
    assert len(answers) == 1 and "audit_chain_head" in answers[0]
    session.expire_all()
    stored = session.scalars(sa.select(IdempotencyKey).where(IdempotencyKey.key == key)).one()
    assert stored.status_code == 201 and stored.response_body is not None
    again = ledger.raw("POST", "/disbursements", "treasurer", pay_body(world, "P-1"), key=key)
    assert again.headers["Idempotent-Replayed"] == "true" and again.get_json() == paid.get_json()


def test_folding_keeps_statements_apart_when_it_must():
    from ledger.db import DriverStatement, folded

    update = DriverStatement.postgresql("UPDATE t SET a = %(a)s")
    chain = DriverStatement.postgresql("WITH RECURSIVE x AS (SELECT 1) SELECT %(b)s")
    plain = DriverStatement.postgresql("SELECT %(a)s")
    together = folded([(update, {"a": 1}, True), (chain, {"b": 2}, False)])
    assert [(s.sql, p) for s, p in together] == [
        (
            "WITH RECURSIVE ledger_before_0 AS (UPDATE t SET a = %(a)s), x AS (SELECT 1) "
            "SELECT %(b)s",
            {"a": 1, "b": 2},
        )
    ]
    # A parameter's name in both: sent one after the other, as queued.
    apart = folded([(update, {"a": 1}, True), (plain, {"a": 3}, False)])
    assert [s for s, _ in apart] == [update, plain]
    # Nothing after it to run within: on its own.
    assert [s for s, _ in folded([(update, {"a": 1}, True)])] == [update]


def test_only_a_data_modifying_statement_can_be_independent(app, session):
    from ledger.db import DriverStatement, at_commit

    with pytest.raises(ValueError, match="INSERT, UPDATE or DELETE"):
        at_commit(session, DriverStatement.postgresql("SELECT 1"), {}, independent=True)
