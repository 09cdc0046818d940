"""Jobs without a broker: run inline in the tests, and on the in-process worker
that ``make run`` uses (Dramatiq's StubBroker). The real broker: test_rabbitmq.py."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from ledger import create_app
from ledger.db import db
from ledger.jobs.models import Job
from ledger.jobs.scheduler import schedule_due
from ledger.jobs.services import enqueue
from tests.batches.world import csv_file, households, programme, submit
from tests.factories import LedgerDriver


def _post(ledger: LedgerDriver, batch_id: int) -> Any:
    response = ledger.raw("POST", f"/batches/{batch_id}/post", "treasurer", {})
    assert response.status_code == 202, response.get_data(as_text=True)
    return response


def test_posting_a_batch_answers_202_with_the_job_that_pays_it(ledger: LedgerDriver) -> None:
    world = programme(ledger)
    batch = submit(ledger, world, csv_file(households(12)))
    ledger.approve(batch["spending_request_id"])
    response = _post(ledger, batch["id"])
    body = response.get_json()
    assert response.headers["Location"] == f"/api/v1/jobs/{body['job_id']}"
    assert body["id"] == batch["id"] and body["status"] in ("posting", "posted")

    job = ledger.get(f"/jobs/{body['job_id']}", "treasurer")
    assert (job["kind"], job["state"], job["attempts"]) == ("batch.post", "done", 1)
    assert job["arguments"] == {"batch_id": batch["id"]}
    assert job["progress"]["paid"] == 12 and job["error"] is None
    assert job["created_by"] == ledger.user_ids["treasurer"]
    assert ledger.get(f"/batches/{batch['id']}")["status"] == "posted"
    listed = ledger.get("/jobs?kind=batch.post&state=done", "clerk")["items"]
    assert [j["id"] for j in listed] == [job["id"]]


def test_a_job_refused_by_a_rule_fails_at_once_with_its_error(
    ledger: LedgerDriver, app: Flask
) -> None:
    """A checkpoint with no signing key is refused by the ledger's rule: running it
    again would be refused again, so it fails on its first run, saying why."""
    with app.app_context(), db.transaction() as session:
        job_id = enqueue(session, "checkpoint.sign").id
    job = ledger.get(f"/jobs/{job_id}")
    assert (job["state"], job["attempts"]) == ("failed", 1)
    assert job["error"].startswith("no_signing_key: No audit signing key")
    assert job["finished_at"] is not None


def test_an_unknown_job_is_a_problem_404(ledger: LedgerDriver) -> None:
    response = ledger.raw("GET", "/jobs/424242", "auditor")
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"
    assert response.get_json()["code"] == "not_found"
    bad = ledger.raw("GET", "/jobs?state=sleeping", "auditor")
    assert bad.status_code == 422 and "state" in bad.get_json()["errors"]


def test_a_scheduled_job_exists_once_per_period_however_many_schedulers(app: Flask) -> None:
    config = {"JOBS_EXPIRE_REQUESTS_EVERY": 3600, "JOBS_SIGN_CHECKPOINT_EVERY": 86400}
    at = dt.datetime(2026, 12, 6, 14, 5, tzinfo=dt.UTC)
    with app.app_context():
        for moment in (at, at + dt.timedelta(minutes=20), at + dt.timedelta(minutes=50)):
            with db.transaction() as session:  # three schedulers, one hour
                schedule_due(session, config, moment)
        with db.transaction() as session:  # the next hour: a new expiry, the same day
            schedule_due(session, config, at + dt.timedelta(hours=1))
        with db.transaction() as session:
            keys = session.scalars(sa.select(Job.dedupe_key).order_by(Job.id)).all()
    assert keys == [
        "requests.expire:2026-12-06T14:00:00+00:00",
        "checkpoint.sign:2026-12-06T00:00:00+00:00",
        "requests.expire:2026-12-06T15:00:00+00:00",
    ]


def test_the_scheduled_expiry_expires_requests_whose_time_is_up(
    ledger: LedgerDriver, app: Flask
) -> None:
    world = ledger.funded("1000.00")
    request = ledger.request(
        world["fund"]["id"], world["project"]["id"], world["payee"]["id"], "100.00"
    )
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
    with app.app_context():
        from ledger.db import clock_at

        with clock_at(later), db.transaction() as session:
            job_id = schedule_due(session, {"JOBS_EXPIRE_REQUESTS_EVERY": 3600}, later)[0].id
    job = ledger.get(f"/jobs/{job_id}")
    assert (job["state"], job["progress"]) == ("done", {"expired": [request["id"]]})
    assert ledger.get(f"/spending-requests/{request['id']}")["status"] == "expired"


@pytest.mark.real_commits  # the in-process worker's threads write for real
def test_without_a_broker_the_serving_process_runs_the_jobs(app: Flask, database_url: str) -> None:
    """``make run``: no broker; a batch posted through the API is paid by the
    worker threads of the process that serves it (Dramatiq's StubBroker)."""
    web = create_app({"TESTING": True, "DATABASE_URL": database_url, "JOBS_SCHEDULE": False})
    try:
        ledger = LedgerDriver(web, web.test_client())
        world = programme(ledger)
        batch = submit(ledger, world, csv_file(households(30)))
        ledger.approve(batch["spending_request_id"])
        job_id = _post(ledger, batch["id"]).get_json()["job_id"]
        deadline = time.monotonic() + 60
        while (job := ledger.get(f"/jobs/{job_id}"))["state"] != "done":
            assert job["state"] in ("queued", "running"), job
            assert time.monotonic() < deadline, f"job not done in 60 s: {job}"
            time.sleep(0.05)
        assert ledger.get(f"/batches/{batch['id']}")["progress"]["rows"]["paid"] == 30
        assert ledger.trial_balance(world["fund"]["id"])["balanced"] is True
    finally:
        web.extensions["ledger.jobs"].stop()
        web.extensions["ledger.db"].engine.dispose()
