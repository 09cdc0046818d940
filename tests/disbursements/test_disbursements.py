"""Disbursements: bounded by the approval, checked at the moment of payment, exactly once."""

import uuid


def test_disbursement_is_bounded_by_the_approval(ledger):
    world = ledger.approved("100000.00")
    req_id = world["request"]["id"]
    ledger.disburse(req_id, "60000.00")
    refused = ledger.disburse(req_id, "40000.01", expect=409)
    assert refused["code"] == "exceeds_approval"
    assert refused["remaining"] == "40000.00"
    ledger.disburse(req_id, "40000.00")
    state = ledger.get(f"/spending-requests/{req_id}")
    assert state["disbursed"] == "100000.00"
    assert state["remaining"] == "0.00"
    base = ledger.position(world["fund"]["id"])["base"]
    assert base["disbursed"] == "100000.00"
    assert base["committed_not_disbursed"] == "0.00"
    assert base["cash"] == "900000.00"
    assert ledger.trial_balance(world["fund"]["id"])["balanced"] is True


def test_unapproved_request_is_not_paid(ledger):
    world = ledger.funded()
    req = ledger.request(world["fund"]["id"], world["project"]["id"], world["payee"]["id"], "10.00")
    refused = ledger.disburse(req["id"], "10.00", expect=409)
    assert refused["code"] == "not_approved"


def test_a_voter_does_not_disburse(ledger):
    world = ledger.funded()
    ledger.user("member-treasurer", ["committee_member", "treasurer"], "UN")
    req = ledger.request(world["fund"]["id"], world["project"]["id"], world["payee"]["id"], "10.00")
    ledger.vote(req["id"], "member-treasurer")
    ledger.vote(req["id"], "member-eu")
    refused = ledger.disburse(req["id"], "10.00", as_="member-treasurer", expect=403)
    assert refused["code"] == "separation_of_duties"
    ledger.disburse(req["id"], "10.00")


def test_disbursement_in_another_currency_than_the_approval_is_refused(ledger):
    world = ledger.approved("100.00")
    refused = ledger.disburse(world["request"]["id"], "10.00", "EUR", fx_rate="1.1", expect=422)
    assert "currency" in refused["errors"]


def test_retry_with_the_same_key_has_one_effect_and_returns_the_first_answer(ledger):
    world = ledger.approved("100.00")
    key = str(uuid.uuid4())
    body = {
        "spending_request_id": world["request"]["id"],
        "amount": "30.00",
        "currency": "USD",
        "reference": "PAY-1",
    }
    first = ledger.raw("POST", "/disbursements", "treasurer", body, key=key)
    second = ledger.raw("POST", "/disbursements", "treasurer", body, key=key)
    assert first.status_code == second.status_code == 201
    assert first.get_json() == second.get_json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert len(ledger.get("/disbursements")["items"]) == 1
    assert ledger.get(f"/spending-requests/{world['request']['id']}")["disbursed"] == "30.00"


def test_same_key_with_a_different_body_is_refused(ledger):
    world = ledger.approved("100.00")
    key = str(uuid.uuid4())
    ledger.disburse(world["request"]["id"], "30.00", key=key)
    refused = ledger.disburse(world["request"]["id"], "31.00", key=key, expect=422)
    assert refused["code"] == "idempotency_key_reused"
    assert ledger.get(f"/spending-requests/{world['request']['id']}")["disbursed"] == "30.00"


def test_money_moving_posts_need_an_idempotency_key(ledger):
    world = ledger.approved("100.00")
    body = {
        "spending_request_id": world["request"]["id"],
        "amount": "30.00",
        "currency": "USD",
        "reference": "PAY-1",
    }
    refused = ledger.call("POST", "/disbursements", "treasurer", body, expect=400)
    assert refused["code"] == "idempotency_key_required"
    contribution = ledger.call(
        "POST",
        f"/pledges/{world['pledge']['id']}/contributions",
        "treasurer",
        {"amount": "1.00", "currency": "USD", "received_on": "2021-07-01", "reference": "X"},
        expect=400,
    )
    assert contribution["code"] == "idempotency_key_required"


def test_a_refused_attempt_frees_its_key_for_a_corrected_retry(ledger):
    world = ledger.approved("100.00")
    key = str(uuid.uuid4())
    ledger.disburse(world["request"]["id"], "100.01", key=key, expect=409)
    ledger.disburse(world["request"]["id"], "100.00", key=str(uuid.uuid4()))
    # The refused body under its key is refused again, not replayed as a success.
    again = ledger.disburse(world["request"]["id"], "100.01", key=key, expect=409)
    assert again["code"] == "exceeds_approval"


def test_the_last_payment_after_a_bank_return_releases_exactly_what_is_committed(ledger):
    """A return re-commits what it restores; the last payment then releases what
    stands of the commitment, so a fully paid request leaves nothing committed."""
    world = ledger.approved("1000.00")
    req_id = world["request"]["id"]
    first = ledger.disburse(req_id, "250.00")
    ledger.disburse(req_id, "500.00")
    ledger.call(
        "POST",
        f"/disbursements/{first['id']}/reverse",
        "treasurer",
        {"reason": "Account closed"},
        key=f"reverse-{first['id']}",
    )
    ledger.disburse(req_id, "200.00")
    ledger.disburse(req_id, "300.00")  # the last: what remains of the approval
    base = ledger.position(world["fund"]["id"])["base"]
    assert base["disbursed"] == "1000.00"
    assert base["committed_not_disbursed"] == "0.00"
    assert ledger.trial_balance(world["fund"]["id"])["balanced"] is True
