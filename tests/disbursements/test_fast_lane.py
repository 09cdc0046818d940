"""The payment's fast lane (``ledger/disbursements/fast_lane.py``) against the usual
request handling: the same rows, the same answer (replayed byte for byte by either),
and whatever the lane does not finish answered exactly as the usual way answers it,
with nothing left behind (no claimed key, no row)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from ledger.db import database_key
from ledger.disbursements import fast_lane, in_database
from ledger.screening.services import name_index
from tests.disbursements.test_in_database import (
    pay_the_sequence,
    python_path_locks,
    same_writes,
    statements,
    thirty_two_at_once,
    world,
    written,
)

pytestmark = pytest.mark.postgresql_only


def lane(seen: list[str]) -> int:
    """Statements the fast lane sent (``ledger_pay()``)."""
    return sum("ledger_pay(" in s for s in seen)


def lookups(seen: list[str]) -> int:
    """The usual way's token lookups."""
    return sum("JOIN api_tokens" in s and "ledger_pay(" not in s for s in seen)


def keys(session: Any) -> int:
    return session.execute(sa.text("SELECT count(*) FROM idempotency_keys")).scalar_one()


@pytest.fixture
def screened(session):
    """As after any first payment of a process: the index it screens with."""
    name_index(session)


def test_the_fast_lane_writes_what_the_usual_way_writes(
    app, ledger, session, screened, monkeypatch
):
    usual, fast = world(ledger, "A"), world(ledger, "B")
    monkeypatch.setitem(app.config, "PAYMENTS_FAST_LANE", False)
    pay_the_sequence(ledger, usual["request"]["id"])
    monkeypatch.setitem(app.config, "PAYMENTS_FAST_LANE", True)
    with statements(app) as seen:
        pay_the_sequence(ledger, fast["request"]["id"])
    # Three payments ask ledger_pay(). The first goes the usual way: this process
    # has not paid the request before, so the lane does not know its payee (the
    # usual way pays through ledger_disburse() and screens the payee); the next two
    # are the lane's; the last (what remains of the commitment) is left to Python,
    # which the usual way decides without asking the function again. The return
    # goes the usual way.
    assert lane(seen) == 3
    assert sum("ledger_disburse(" in s and "ledger_pay(" not in s for s in seen) == 1
    assert python_path_locks(seen) == 2
    assert lookups(seen) == 3

    assert len(same_writes(ledger, session, usual, fast)["disbursements"]) == 4


def shape(text: str) -> str:
    """An answer's text with its values that differ between payments taken out."""
    return re.sub(r'"(id|created_at|checked_at)":("[^"]*"|\d+)', r'"\1":_', text)


def pay_body(fund: dict[str, Any], amount: str = "12.34", **extra: Any) -> dict[str, Any]:
    return {
        "spending_request_id": fund["request"]["id"],
        "amount": amount,
        "currency": "USD",
        "reference": f"PAY-{uuid.uuid4().hex[:8]}",
        "paid_on": "2021-07-01",
        **extra,
    }


def test_the_answer_is_the_views_and_either_way_replays_it_byte_for_byte(
    app, ledger, session, screened, monkeypatch
):
    fund = world(ledger, "C")
    ledger.disburse(fund["request"]["id"], "1.00")  # the payee screened by this process
    body = pay_body(fund)
    with statements(app) as seen:
        first = ledger.raw("POST", "/disbursements", "treasurer", body, key="k-1")
    assert lane(seen) == 1 and lookups(seen) == 0  # the lane's, in one statement
    assert len(seen) == 1
    assert first.status_code == 201
    assert first.mimetype == "application/json"
    paid = first.get_json()
    assert paid == ledger.get(f"/disbursements/{paid['id']}", "treasurer")
    # The text is the view's: the same fields in the same order, the same encoding.
    monkeypatch.setitem(app.config, "PAYMENTS_FAST_LANE", False)
    usual = ledger.raw(
        "POST", "/disbursements", "treasurer", {**body, "reference": "PAY-%s"}, key="k-2"
    )
    monkeypatch.setitem(app.config, "PAYMENTS_FAST_LANE", True)
    with statements(app) as seen:
        fast = ledger.raw(
            "POST", "/disbursements", "treasurer", {**body, "reference": "PAY-%s"}, key="k-3"
        )
    assert lane(seen) == 1 and fast.status_code == usual.status_code == 201
    assert fast.get_json()["reference"] == "PAY-%s"  # a "%" is not a format() place
    assert shape(fast.get_data(as_text=True)) == shape(usual.get_data(as_text=True))
    assert fast.get_data(as_text=True).endswith("}\n")
    assert set(paid) == {
        "id", "spending_request_id", "fund_id", "payee_id", "amount", "currency", "fx_rate",
        "base_currency", "base_amount", "reference", "paid_on", "screening", "created_by",
        "created_at",
    }  # fmt: skip
    assert first.headers["X-Request-Id"] and first.headers["Cache-Control"] == "no-store"
    for fast in (True, False):
        monkeypatch.setitem(app.config, "PAYMENTS_FAST_LANE", fast)
        again = ledger.raw("POST", "/disbursements", "treasurer", body, key="k-1")
        assert again.status_code == 201
        assert again.get_data() == first.get_data()
        assert again.headers["Idempotent-Replayed"] == "true"
        other = ledger.raw("POST", "/disbursements", "treasurer", pay_body(fund), key="k-1")
        assert other.status_code == 422
        assert other.get_json()["code"] == "idempotency_key_reused"
    assert len(written(session, fund["fund"]["id"])["disbursements"]) == 4


@pytest.mark.parametrize(
    "case",
    ["unknown token", "auditor", "bad amount", "unknown field", "no key", "restricted", "closed"],
)
def test_what_the_lane_does_not_finish_is_answered_as_the_usual_way_answers_it(
    app, ledger, session, screened, monkeypatch, case
):
    fund = world(ledger, "D")
    ledger.disburse(fund["request"]["id"], "1.00")
    as_, body, key = "treasurer", pay_body(fund), "k-{}"
    if case == "unknown token":
        as_ = "ldg_not-a-token"
    elif case == "auditor":
        as_ = "auditor"
    elif case == "bad amount":
        body["amount"] = "12.345"
    elif case == "unknown field":
        body["note"] = "not a field"
    elif case == "no key":
        key = ""
    elif case == "restricted":
        ledger.call(
            "POST",
            f"/payees/{fund['payee']['id']}/restrictions",
            "compliance",
            {"reason": "Listed by the committee's vetting"},
            expect=201,
        )
    elif case == "closed":  # ledger_disburse() declines; Python refuses with evidence
        ledger.call(
            "POST",
            f"/funds/{fund['fund']['id']}/periods",
            "treasurer",
            {"period": "2021-07", "reason": "July 2021 books signed."},
            expect=201,
        )
    answers = []
    for fast in (True, False):
        monkeypatch.setitem(app.config, "PAYMENTS_FAST_LANE", fast)
        before = keys(session)
        response = ledger.raw(
            "POST", "/disbursements", as_, body, key=key.format(fast) if key else None
        )
        answers.append((response.status_code, (response.get_json() or {}).get("code")))
        assert keys(session) == before  # nothing claimed
    assert answers[0] == answers[1]
    assert answers[0][0] in (400, 401, 403, 409, 422)
    assert len(written(session, fund["fund"]["id"])["disbursements"]) == 1


def test_a_payee_this_process_has_not_screened_is_screened_the_usual_way(
    app, ledger, session, screened, monkeypatch
):
    fund = world(ledger, "E")
    ledger.disburse(fund["request"]["id"], "1.00")
    monkeypatch.setattr(in_database, "_clear", set())  # as in a fresh worker process
    with statements(app) as seen:
        ledger.disburse(fund["request"]["id"], "1.00")
        ledger.disburse(fund["request"]["id"], "1.00")
    # The first: the lane does not know the payee clear and leaves it, the usual way
    # pays and screens (the payee's row read for the search); the second: the lane's.
    assert lane(seen) == 1
    assert sum("FROM payees" in s for s in seen) == 1
    assert lookups(seen) == 1
    assert written(session, fund["fund"]["id"])["paid"] == 300


def test_simultaneous_payments_in_the_lane_stay_within_the_approval(app, ledger, session, screened):
    """32 clients at once on one approval with room for 20 payments, as in
    test_in_database, through the lane: 19 paid by it, the last by Python, 12 refused."""
    fund = world(ledger, "G")
    request_id = fund["request"]["id"]
    ledger.disburse(request_id, "980.00")
    results, seen = thirty_two_at_once(app, ledger, request_id)
    assert sorted(status for status, _ in results) == [201] * 20 + [409] * 12
    assert lane(seen) == 32
    paid = written(session, fund["fund"]["id"])
    assert len(paid["disbursements"]) == 21
    assert paid["paid"] == 100000
    assert ledger.trial_balance(fund["fund"]["id"])["balanced"] is True
    assert ledger.get("/audit-events/verify")["valid"] is True


def test_a_payment_at_a_rate_goes_the_usual_way(app, ledger, session, screened):
    fund = world(ledger, "F")
    ledger.disburse(fund["request"]["id"], "1.00")
    with statements(app) as seen:
        paid = ledger.disburse(fund["request"]["id"], "1.00", fx_rate="1.0")
    assert lane(seen) == 0 and lookups(seen) == 1
    assert paid["amount"] == "1.00"


def test_a_connection_lost_in_the_lane_fails_the_payment_cleanly_and_the_retry_pays_once(
    app, ledger, monkeypatch
):
    """The server dropped the pool's connections (a restart, a failover): the lane's
    payment is answered 503 database_unavailable with nothing written, the whole
    pool is invalidated, and the retry with the same key pays, once."""
    from ledger import db as ledger_db
    from tests.ops.test_connection_loss import drop_connections

    monkeypatch.setattr(ledger_db, "PING_AFTER_IDLE_SECONDS", 3600.0)
    fund = world(ledger, "H")
    for _ in range(2):  # the name index built, the payee screened by this process
        ledger.disburse(fund["request"]["id"], "1.00")
    body = pay_body(fund)
    engine = app.extensions["ledger.db"].engine
    with engine.connect() as one, engine.connect() as two:  # two rest in the pool
        one.exec_driver_sql("SELECT 1")
        two.exec_driver_sql("SELECT 1")
    try:
        assert drop_connections(app) >= 2
        lost = ledger.raw("POST", "/disbursements", "treasurer", body, key="k-lost")
        assert lost.status_code == 503
        assert lost.get_json()["type"].endswith("database_unavailable")
        assert lost.headers["Retry-After"] == "1"
        again = ledger.raw("POST", "/disbursements", "treasurer", body, key="k-lost")
        assert again.status_code == 201
        replay = ledger.raw("POST", "/disbursements", "treasurer", body, key="k-lost")
        assert replay.get_data() == again.get_data()
    finally:
        engine.dispose()
    # (The test's own session lost its connection too: read through the API.)
    paid = ledger.get(f"/disbursements?spending_request_id={fund['request']['id']}")["items"]
    assert sorted(p["amount"] for p in paid) == ["1.00", "1.00", "12.34"]
    assert ledger.trial_balance(fund["fund"]["id"])["balanced"] is True
    assert ledger.get("/audit-events/verify")["valid"] is True


def test_a_payee_changed_since_this_process_paid_it_is_screened_again_the_usual_way(
    app, ledger, session, screened
):
    fund = world(ledger, "H")
    request_id = fund["request"]["id"]
    ledger.disburse(request_id, "1.00")
    ledger.related_party(fund["payee"]["id"], "Khalil Haddad")
    claimed = keys(session)
    with statements(app) as seen:
        ledger.disburse(request_id, "1.00")
        ledger.disburse(request_id, "1.00")
    # The first: ledger_pay() finds the payee's digest is not the one this process
    # found clear and writes nothing; the usual way screens the payee again (its row
    # read for the search) and pays. The second: the lane's, with the new digest.
    assert lane(seen) == 2
    assert lookups(seen) == 1
    assert sum("FROM payees" in s for s in seen) == 1
    assert keys(session) == claimed + 2
    assert written(session, fund["fund"]["id"])["paid"] == 300
    assert ledger.get("/audit-events/verify")["valid"] is True


def test_a_value_the_canonical_text_cannot_carry_leaves_the_payment_to_python(
    app, ledger, session, screened
):
    """The audit trail's canonical text is Python's: a non-integer number (0.5, as
    Python's float prints it) is not written by SQL; the function writes nothing and
    the usual way pays in Python, without asking ledger_disburse() again."""
    fund = world(ledger, "I")
    request_id = fund["request"]["id"]
    ledger.disburse(request_id, "1.00")
    session.execute(
        sa.text("UPDATE spending_requests SET decision = CAST(:decision AS json) WHERE id = :id"),
        {"decision": '{"status": "approved", "share": 0.5}', "id": request_id},
    )
    session.commit()
    claimed = keys(session)
    with statements(app) as seen:
        ledger.disburse(request_id, "1.00")
    assert lane(seen) == 1
    assert sum("ledger_disburse(" in s and "ledger_pay(" not in s for s in seen) == 0
    assert python_path_locks(seen) == 1
    assert keys(session) == claimed + 1
    assert written(session, fund["fund"]["id"])["paid"] == 200
    paid = session.execute(
        sa.text(
            "SELECT after FROM audit_events WHERE action = 'spending_request.disbursed' "
            "ORDER BY seq DESC LIMIT 1"
        )
    ).scalar_one()
    assert paid["decision"]["share"] == 0.5 and paid["disbursed_minor"] == 200
    assert ledger.get("/audit-events/verify")["valid"] is True


def test_the_requests_snapshot_is_rendered_again_when_the_request_changed(
    app, ledger, session, screened
):
    """ledger_pay() renders a request's snapshot once and the lane hands it back for
    the request's next payments; a request changed since (here its purpose) is
    rendered again, and its events carry the change."""
    fund = world(ledger, "J")
    request_id = fund["request"]["id"]
    ledger.disburse(request_id, "1.00")  # the usual way: the lane learns the payee
    ledger.disburse(request_id, "1.00")  # the lane's: the snapshot rendered
    kept = dict(fast_lane._request_parts[database_key(session), request_id])
    ledger.disburse(request_id, "1.00")  # the lane's: the snapshot handed back
    assert fast_lane._request_parts[database_key(session), request_id] == kept
    session.execute(
        sa.text("UPDATE spending_requests SET purpose = 'Roof repair, phase 2' WHERE id = :id"),
        {"id": request_id},
    )
    session.commit()
    ledger.disburse(request_id, "1.00")
    renewed = fast_lane._request_parts[database_key(session), request_id]
    assert renewed["request_key"] != kept["request_key"]
    assert '"purpose":"Roof repair, phase 2"' in renewed["request_high"]
    paid = session.execute(
        sa.text(
            "SELECT before, after FROM audit_events WHERE action = 'spending_request.disbursed' "
            "ORDER BY seq DESC LIMIT 2"
        )
    ).all()
    assert [before["purpose"] for before, _ in paid] == [
        "Roof repair, phase 2",
        "Repair of damaged housing units",
    ]
    assert [after["disbursed_minor"] for _, after in paid] == [400, 300]
    assert ledger.get("/audit-events/verify")["valid"] is True
