"""Invariant 8: the audit trail is append-only and a rewrite is found and named."""

import itertools

import pytest
import sqlalchemy as sa

from ledger.audit import services as audit_services


def owner_edit(session, sql, **params):
    """Change a row as the database owner would, bypassing the append-only triggers."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SET LOCAL session_replication_role = replica"))
    session.execute(sa.text(sql), params)
    session.commit()


def test_every_write_is_audited_with_actor_and_states(ledger):
    world = ledger.approved("1000.00")
    ledger.disburse(world["request"]["id"], "400.00")
    events = ledger.get("/audit-events?limit=500")["items"]
    actions = [e["action"] for e in events]
    for action in (
        "fund.created",
        "donor.created",
        "pledge.created",
        "contribution.recorded",
        "project.created",
        "payee.created",
        "spending_request.submitted",
        "vote.cast",
        "spending_request.approved",
        "disbursement.made",
    ):
        assert action in actions, action
    paid = next(e for e in events if e["action"] == "spending_request.disbursed")
    assert paid["before"]["disbursed_minor"] == 0
    assert paid["after"]["disbursed_minor"] == 40000
    assert paid["actor_name"] == "treasurer"
    assert paid["request_id"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(events))


def test_audit_events_filter_by_entity(ledger):
    world = ledger.approved("1000.00")
    req_id = world["request"]["id"]
    events = ledger.get(f"/audit-events?entity_type=spending_requests&entity_id={req_id}")
    assert {e["action"] for e in events["items"]} == {
        "spending_request.submitted",
        "spending_request.approved",
    }


def test_chain_verifies_after_activity(ledger):
    ledger.approved("1000.00")
    report = ledger.get("/audit-events/verify")
    assert report["valid"] is True
    assert report["events_checked"] == report["head_seq"] > 10


def test_verification_finds_an_event_edited_in_the_database_and_names_it(ledger, session):
    ledger.approved("1000.00")
    target = ledger.get("/audit-events?action=pledge.created")["items"][0]
    owner_edit(
        session,
        "UPDATE audit_events SET actor_name = 'someone else' WHERE id = :id",
        id=target["id"],
    )
    report = ledger.get("/audit-events/verify")
    assert report["valid"] is False
    assert report["first_broken_id"] == target["id"]
    assert report["first_broken_seq"] == target["seq"]
    assert "hash" in report["reason"]


def test_verification_finds_a_deleted_event(ledger, session):
    ledger.approved("1000.00")
    victim = ledger.get("/audit-events?action=vote.cast")["items"][0]
    owner_edit(session, "DELETE FROM audit_events WHERE id = :id", id=victim["id"])
    report = ledger.get("/audit-events/verify")
    assert report["valid"] is False
    assert report["first_broken_seq"] == victim["seq"] + 1
    assert "gap" in report["reason"]


def test_verification_finds_a_truncated_tail(ledger, session):
    ledger.approved("1000.00")
    last = ledger.get("/audit-events/verify")["head_seq"]
    owner_edit(session, "DELETE FROM audit_events WHERE seq = :seq", seq=last)
    report = ledger.get("/audit-events/verify")
    assert report["valid"] is False
    assert report["first_broken_seq"] == last


@pytest.mark.postgresql_only
@pytest.mark.parametrize(
    ("table", "statement"),
    [
        ("audit_events", "UPDATE audit_events SET action = 'x'"),
        ("audit_events", "DELETE FROM audit_events"),
        ("audit_events", "TRUNCATE audit_events"),
        ("journal_entries", "UPDATE journal_entries SET memo = 'x'"),
        ("journal_lines", "UPDATE journal_lines SET amount_minor = amount_minor + 1"),
        ("journal_lines", "DELETE FROM journal_lines"),
        ("journal_lines", "TRUNCATE journal_lines CASCADE"),
        ("votes", "UPDATE votes SET decision = 'reject'"),
        ("votes", "DELETE FROM votes"),
        ("refusals", "DELETE FROM refusals"),
        ("allocations", "UPDATE allocations SET base_amount_minor = 0"),
    ],
)
def test_postgresql_refuses_changes_to_append_only_tables(
    ledger, session, backend, table, statement
):
    world = ledger.approved("1000.00")
    ledger.disburse(world["request"]["id"], "1000.01", expect=409)  # leaves a refusal
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        session.execute(sa.text(statement))
    session.rollback()
    assert session.scalar(sa.text(f"SELECT count(*) FROM {table}")) > 0


@pytest.mark.real_commits
def test_concurrent_writers_make_one_gap_free_verifiable_chain(app, ledger):
    """Writers that share no other lock all go through the chain head: every event
    chained once, in one order, verifiable."""
    import threading

    barrier = threading.Barrier(16)
    statuses = []

    def worker(i):
        client = app.test_client()
        barrier.wait()
        response = client.post(
            "/api/v1/payees",
            json={"name": f"Payee number {i}", "kind": "organization", "country": "PS"},
            headers={"Authorization": f"Bearer {ledger.tokens['clerk']}"},
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert statuses == [201] * 16
    report = ledger.get("/audit-events/verify")
    assert report["valid"] is True
    events = ledger.get("/audit-events?limit=500")["items"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert sum(e["action"] == "payee.created" for e in events) == 16


def test_events_that_cannot_be_written_roll_the_whole_request_back(ledger, monkeypatch):
    """The events are linked and written right before the COMMIT: if that fails,
    nothing of the request stays: not its effect, not its Idempotency-Key (the
    retry does the work)."""
    real = audit_services.link

    def broken(*args):  # type: ignore[no-untyped-def]
        raise RuntimeError("the chain step failed")

    world = ledger.approved("50.00")
    req = world["request"]
    head = ledger.get("/audit-events/verify")["head_seq"]
    body = {
        "spending_request_id": req["id"],
        "amount": "10.00",
        "currency": "USD",
        "reference": "PAY-CHECKED",
    }

    monkeypatch.setattr(audit_services, "link", broken)
    failed = ledger.raw("POST", "/disbursements", "treasurer", body, key="checked-once")
    assert failed.status_code == 500
    assert failed.mimetype == "application/problem+json"
    assert ledger.get(f"/disbursements?spending_request_id={req['id']}")["items"] == []
    assert ledger.get("/audit-events/verify")["head_seq"] == head

    monkeypatch.setattr(audit_services, "link", real)
    paid = ledger.raw("POST", "/disbursements", "treasurer", body, key="checked-once")
    assert paid.status_code == 201
    assert "Idempotent-Replayed" not in paid.headers
    assert ledger.get("/audit-events/verify")["valid"] is True
    assert ledger.trial_balance(world["fund"]["id"])["balanced"] is True


def test_before_and_after_are_stored_as_the_hashed_bytes(ledger, session, backend):
    """An event's states are stored as its canonical text has them (the bytes
    hashed: sorted keys, no spaces, unicode as it is), with the values recorded."""
    import json

    world = ledger.approved("1000.00")
    ledger.disburse(world["request"]["id"], "10.00")
    name = 'شركة البناء ʿAlī "q" €'
    ledger.call("PATCH", f"/payees/{world['payee']['id']}", "clerk", {"name": name})

    rows = session.execute(
        sa.text(
            "SELECT action, CAST(before AS TEXT), CAST(after AS TEXT) FROM audit_events "
            "ORDER BY seq"
        )
    ).all()
    assert len(rows) > 10
    for _, *states in rows:
        for stored in states:
            value = json.loads(stored)
            canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            assert stored == canonical
    renamed = [json.loads(after) for action, _, after in rows if action == "payee.changed"]
    assert renamed and renamed[-1]["name"] == name
    assert ledger.get("/audit-events/verify")["valid"] is True
