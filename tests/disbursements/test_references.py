"""A bank reference pays once (SPEC §3.11): a disbursement's within its fund, a
contribution's within its pledge, whatever the Idempotency-Key. A retry script that
makes a fresh key per attempt must not pay twice."""

from __future__ import annotations

import threading
import uuid

import pytest

from tests.disbursements.world import world
from tests.test_api_conventions import assert_problem


def pay(ledger, request_id, reference, key=None):  # type: ignore[no-untyped-def]
    body = {
        "spending_request_id": request_id,
        "amount": "10.00",
        "currency": "USD",
        "reference": reference,
    }
    return ledger.raw("POST", "/disbursements", "treasurer", body, key=key or str(uuid.uuid4()))


def test_a_second_payment_with_the_same_reference_is_refused_whatever_the_key(ledger):
    world = ledger.approved("100.00")
    first = pay(ledger, world["request"]["id"], "PAY-2021-0101")
    assert first.status_code == 201
    again = pay(ledger, world["request"]["id"], "PAY-2021-0101")  # a fresh key
    body = assert_problem(again, 409, "reference_in_use")
    assert body["disbursement_id"] == first.get_json()["id"]
    assert body["errors"]["reference"]
    # Nothing paid the second time, and the refusal is on record.
    paid = ledger.get(f"/disbursements?spending_request_id={world['request']['id']}")
    assert [d["id"] for d in paid["items"]] == [first.get_json()["id"]]
    refusals = ledger.get("/refusals")["items"]
    assert [r["code"] for r in refusals] == ["reference_in_use"]
    assert ledger.trial_balance(world["fund"]["id"])["balanced"] is True


def test_the_same_reference_is_refused_on_another_request_of_the_fund(ledger):
    world = ledger.approved("100.00")
    other = ledger.request(
        world["fund"]["id"], world["project"]["id"], world["payee"]["id"], "50.00"
    )
    ledger.approve(other["id"])
    assert pay(ledger, world["request"]["id"], "PAY-SHARED").status_code == 201
    assert_problem(pay(ledger, other["id"], "PAY-SHARED"), 409, "reference_in_use")


def test_another_fund_may_use_the_same_reference(ledger):
    first, second = world(ledger, "A"), world(ledger, "B")
    assert pay(ledger, first["request"]["id"], "PAY-1").status_code == 201
    assert pay(ledger, second["request"]["id"], "PAY-1").status_code == 201


def test_a_replay_with_the_same_key_is_still_the_first_answer(ledger):
    world = ledger.approved("100.00")
    key = str(uuid.uuid4())
    first = pay(ledger, world["request"]["id"], "PAY-R", key=key)
    again = pay(ledger, world["request"]["id"], "PAY-R", key=key)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == first.get_data()


def test_a_contribution_reference_is_received_once_per_pledge(ledger):
    fund = ledger.fund()
    donor = ledger.donor()
    pledge = ledger.pledge(fund["id"], donor["id"], "1000.00")
    first = ledger.contribute(pledge["id"], "100.00", reference="BANK-0001")
    again = ledger.contribute(pledge["id"], "100.00", reference="BANK-0001", expect=409)
    assert again["code"] == "reference_in_use"
    assert again["contribution_id"] == first["id"]
    # Another pledge may carry the same reference (another donor's bank, say).
    other = ledger.pledge(fund["id"], donor["id"], "1000.00")
    ledger.contribute(other["id"], "100.00", reference="BANK-0001")


@pytest.mark.postgresql_only
@pytest.mark.real_commits
def test_two_payments_racing_with_one_reference_pay_once(app, ledger):
    """Two requests of one fund, paid at once with the same reference: each passes
    the check under its own request's lock; the database's constraint refuses the
    second, answered as the check answers."""
    world = ledger.approved("100.00")
    other = ledger.request(
        world["fund"]["id"], world["project"]["id"], world["payee"]["id"], "50.00"
    )
    ledger.approve(other["id"])
    barrier = threading.Barrier(2)
    statuses: list[tuple[int, str | None]] = []

    def worker(request_id: int) -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(
            "/api/v1/disbursements",
            json={
                "spending_request_id": request_id,
                "amount": "10.00",
                "currency": "USD",
                "reference": "PAY-RACE",
            },
            headers={
                "Authorization": f"Bearer {ledger.tokens['treasurer']}",
                "Idempotency-Key": str(uuid.uuid4()),
            },
        )
        statuses.append((response.status_code, (response.get_json() or {}).get("code")))

    threads = [
        threading.Thread(target=worker, args=(rid,))
        for rid in (world["request"]["id"], other["id"])
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses, key=lambda s: s[0]) == [(201, None), (409, "reference_in_use")]


def test_a_single_payment_may_not_take_a_batch_chunks_reference(ledger):
    """A batch's chunks are paid as BATCH-<batch>-<chunk>: taken by hand first, the
    reference would stop the batch's posting later."""
    world = ledger.approved("100.00")
    refused = pay(ledger, world["request"]["id"], "batch-7-00001")
    body = assert_problem(refused, 422, "validation_error")
    assert "batches' own" in body["errors"]["reference"][0]
