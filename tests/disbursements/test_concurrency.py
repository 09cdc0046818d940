"""Invariant 4 and 6 under real concurrency: many clients at once, one database.

Each thread has its own test client, so its own session and connection; a barrier
releases them together. On PostgreSQL the request's row lock serialises them; on
SQLite the write lock taken at BEGIN IMMEDIATE does.
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
