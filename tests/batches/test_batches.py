"""Batches: row-by-row intake, one approval, posting in chunks, nothing paid twice."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from flask import Flask

from ledger.batches.models import BatchPayment, BatchRow
from ledger.batches.runner import run_posting
from ledger.db import db
from tests.batches.world import csv_file, households, programme, submit
from tests.factories import LedgerDriver


def _wait_posted(ledger: LedgerDriver, batch_id: int, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = ledger.get(f"/batches/{batch_id}")
        if batch["status"] == "posted":
            return batch
        time.sleep(0.05)
    raise AssertionError(f"batch {batch_id} not posted: {batch}")


def test_batch_handles_invalid_restricted_and_duplicate_rows_one_by_one(
    ledger: LedgerDriver, app: Flask
) -> None:
    world = programme(ledger)
    blocked = ledger.payee(
        "Blocked Household Head",
        kind="individual",
        identifiers=[{"type": "national_id", "value": "499999999"}],
    )
    ledger.call(
        "POST",
        f"/payees/{blocked['id']}/restrictions",
        "compliance",
        {"reason": "Confirmed match"},
        expect=201,
    )
    lines = households(250)
    lines += [
        "Bad Amount,411111111,,W-1,100.001,USD,QA-BAD-1",  # line 252: three decimals
        "Wrong Currency,411111112,,W-2,100.00,EUR,QA-BAD-2",  # 253
        ",411111113,,W-3,100.00,USD,QA-BAD-3",  # 254: no name
        "Duplicate Reference,411111114,,W-4,100.00,USD,QA-000007",  # 255
        "Blocked Household Head,499999999,,W-5,100.00,USD,QA-BLOCKED",  # 256
    ]
    batch = submit(ledger, world, csv_file(lines))
    assert batch["progress"]["rows"] == {
        "invalid": 4,
        "ready": 250,
        "held": 1,
        "paid": 0,
        "total": 255,
    }
    assert batch["total"] == "25000.00"
    invalid = ledger.get(f"/batches/{batch['id']}/rows?state=invalid")["items"]
    assert {r["line"]: sorted(r["problems"]["errors"]) for r in invalid} == {
        252: ["amount"],
        253: ["currency"],
        254: ["name"],
        255: ["reference"],
    }
    held = ledger.get(f"/batches/{batch['id']}/rows?state=held")["items"]
    assert [(r["line"], r["payee_id"]) for r in held] == [(256, blocked["id"])]
    assert held[0]["problems"]["blocks"][0]["reason"] == "restricted"

    # One spending request for the total, under the quorum; posting waits for it.
    ledger.call("POST", f"/batches/{batch['id']}/post", "treasurer", {}, expect=409)
    request = ledger.approve(batch["spending_request_id"])
    assert request["amount"] == "25000.00"

    started = ledger.call("POST", f"/batches/{batch['id']}/post", "treasurer", {}, expect=202)
    # A batch.post job pays it (on a worker; in the tests, right after the commit).
    job = ledger.get(f"/jobs/{started['job_id']}")
    assert (job["kind"], job["state"]) == ("batch.post", "done")
    posted = _wait_posted(ledger, batch["id"])
    assert posted["progress"]["rows"]["paid"] == 250
    assert posted["progress"]["rows"]["held"] == 1
    assert posted["progress"]["paid_amount"] == "25000.00"
    assert posted["progress"]["percent"] == 100.0

    with app.app_context():
        session = db.session
        payments = session.scalar(sa.select(sa.func.count()).select_from(BatchPayment))
        distinct = session.scalar(sa.select(sa.func.count(sa.distinct(BatchPayment.row_id))))
        assert payments == distinct == 250
    base = ledger.position(world["fund"]["id"])["base"]
    assert base["disbursed"] == "25000.00"
    assert base["committed_not_disbursed"] == "0.00"
    assert ledger.get(f"/spending-requests/{batch['spending_request_id']}")["remaining"] == "0.00"
    assert ledger.trial_balance(world["fund"]["id"])["balanced"] is True
    assert ledger.get("/audit-events/verify")["valid"] is True
    # The same references again, in a new batch: refused row by row (paid once only),
    # and a file with nothing payable is refused as a whole.
    problem = submit(ledger, world, csv_file(households(3)), expect=422)
    assert "file" in problem["errors"]


def test_restriction_set_after_approval_holds_the_row_at_posting(
    ledger: LedgerDriver, app: Flask
) -> None:
    world = programme(ledger)
    batch = submit(ledger, world, csv_file(households(30)))
    ledger.approve(batch["spending_request_id"])
    row = ledger.get(f"/batches/{batch['id']}/rows?limit=1")["items"][0]
    ledger.call(
        "POST", f"/payees/{row['payee_id']}/restrictions", "compliance", {"reason": "x"}, expect=201
    )
    with app.app_context():
        from ledger.auth.models import User
        from ledger.batches.services import start_posting

        with db.transaction() as session:
            treasurer = session.get(User, ledger.user_ids["treasurer"])
            assert treasurer is not None
            start_posting(session, treasurer, batch_id=batch["id"], paid_on=None)
        run_posting(batch["id"], ledger.user_ids["treasurer"], chunk_size=7)
        # Running it again pays nothing more.
        run_posting(batch["id"], ledger.user_ids["treasurer"], chunk_size=7)
        session = db.session
        states = dict(
            session.execute(
                sa.select(BatchRow.state, sa.func.count()).group_by(BatchRow.state)
            ).all()
        )
    assert states == {"paid": 29, "held": 1}
    assert ledger.trial_balance(world["fund"]["id"])["balanced"] is True
    assert ledger.get("/audit-events/verify")["valid"] is True


def test_voter_cannot_post_and_bad_file_is_refused(ledger: LedgerDriver) -> None:
    world = programme(ledger)
    problem = submit(ledger, world, b"name,amount\nA,1.00\n", expect=422)
    assert problem["code"] == "validation_error"
    assert "file" in problem["errors"]
    ledger.user("treasurer-member", ["treasurer", "committee_member"], "UN")
    batch = submit(ledger, world, csv_file(households(5)))
    ledger.vote(batch["spending_request_id"], "treasurer-member")
    ledger.approve(batch["spending_request_id"])
    problem = ledger.call(
        "POST", f"/batches/{batch['id']}/post", "treasurer-member", {}, expect=403
    )
    assert problem["code"] == "separation_of_duties"
