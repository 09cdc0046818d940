"""Invariant 4 and 6 under real concurrency: many clients at once, one database.

Each thread has its own test client, so its own session and connection; a barrier
releases them together. On PostgreSQL the request's row lock serialises them; on
SQLite the write lock taken at BEGIN IMMEDIATE does. So these tests commit for real
(``real_commits``).
"""

import threading
import uuid
from collections import Counter

import pytest

CLIENTS = 64


def race(app, token, bodies, keys):
    barrier = threading.Barrier(len(bodies))
    results = [None] * len(bodies)

    def worker(i):
        client = app.test_client()
        barrier.wait()
        response = client.post(
            "/api/v1/disbursements",
            json=bodies[i],
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": keys[i]},
        )
        results[i] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


@pytest.mark.real_commits
@pytest.mark.parametrize("round_", range(3))
def test_64_simultaneous_disbursements_against_room_for_10_yield_exactly_10(app, ledger, round_):
    world = ledger.approved("10.00")
    req_id = world["request"]["id"]
    body = {"spending_request_id": req_id, "amount": "1.00", "currency": "USD", "reference": "P"}
    results = race(
        app,
        ledger.tokens["treasurer"],
        [dict(body, reference=f"P-{i}") for i in range(CLIENTS)],
        [str(uuid.uuid4()) for _ in range(CLIENTS)],
    )
    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 10, 409: CLIENTS - 10}, statuses
    assert {body["code"] for status, body in results if status == 409} == {"exceeds_approval"}
    assert len(ledger.get(f"/disbursements?spending_request_id={req_id}&limit=500")["items"]) == 10
    state = ledger.get(f"/spending-requests/{req_id}")
    assert state["disbursed"] == "10.00"
    assert ledger.position(world["fund"]["id"])["base"]["disbursed"] == "10.00"
    assert ledger.trial_balance(world["fund"]["id"])["balanced"] is True
    assert ledger.get("/audit-events/verify")["valid"] is True


@pytest.mark.real_commits
def test_simultaneous_retries_with_one_key_have_one_effect(app, ledger):
    world = ledger.approved("100.00")
    body = {
        "spending_request_id": world["request"]["id"],
        "amount": "7.00",
        "currency": "USD",
        "reference": "PAY-ONCE",
    }
    key = str(uuid.uuid4())
    results = race(app, ledger.tokens["treasurer"], [body] * 16, [key] * 16)
    assert {status for status, _ in results} == {201}
    assert len({str(answer) for _, answer in results}) == 1  # every one the first answer
    assert ledger.get(f"/spending-requests/{world['request']['id']}")["disbursed"] == "7.00"
    assert len(ledger.get("/disbursements")["items"]) == 1


@pytest.mark.postgresql_only
@pytest.mark.real_commits  # a second connection holds the key row
def test_a_duplicate_waits_a_bounded_time_for_the_first_then_is_told_it_is_in_progress(
    app, ledger, monkeypatch
):
    """The first request with a key is still at work (its transaction holds the key
    row): a duplicate gets 409 request_in_progress once WAIT_FOR_FIRST is up, and
    the key is free again once the first rolls back."""
    import sqlalchemy as sa

    from ledger.idempotency import services as idempotency

    monkeypatch.setattr(idempotency, "WAIT_FOR_FIRST", "300ms")
    world = ledger.approved("100.00")
    key = str(uuid.uuid4())
    body = {
        "spending_request_id": world["request"]["id"],
        "amount": "5.00",
        "currency": "USD",
        "reference": "PAY-WAIT",
    }
    first = app.extensions["ledger.db"].engine.connect()
    try:
        with first.begin():
            first.execute(
                sa.text(
                    "INSERT INTO idempotency_keys (user_id, key, method, path, request_hash, "
                    "created_at) VALUES (:u, :k, 'POST', '/api/v1/disbursements', 'x', now())"
                ),
                {"u": ledger.user_ids["treasurer"], "k": key},
            )
            waited = ledger.raw("POST", "/disbursements", "treasurer", body, key=key)
            assert waited.status_code == 409
            assert waited.get_json()["code"] == "request_in_progress"
            first.rollback()
    finally:
        first.close()
    assert ledger.raw("POST", "/disbursements", "treasurer", body, key=key).status_code == 201
    assert ledger.get(f"/spending-requests/{world['request']['id']}")["disbursed"] == "5.00"


@pytest.mark.postgresql_only
def test_the_bounded_wait_ends_with_the_key_claim(app, ledger):
    """lock_timeout is bounded only while the key is claimed: the work after it (the
    request's row lock, say) waits as long as it must, as before."""
    import sqlalchemy as sa

    from ledger.db import db
    from ledger.idempotency.services import _claim

    with app.test_request_context("/api/v1/disbursements", method="POST"):
        session = db.session
        session.execute(sa.text("SET LOCAL lock_timeout = '42s'"))
        assert _claim(session, ledger.user_ids["treasurer"], "k-1", "f" * 64) is not None
        assert session.execute(sa.text("SHOW lock_timeout")).scalar_one() == "42s"
        session.rollback()
