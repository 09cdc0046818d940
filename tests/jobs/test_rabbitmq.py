"""Jobs through the broker production uses: RabbitMQ, and ``flask --app wsgi worker``
processes on the test's PostgreSQL database.

A worker killed with SIGKILL in the middle of a job leaves its message
unacknowledged; RabbitMQ hands it to the next worker, which resumes the job: every
row paid once, every payee screened once. A job that fails is retried with
backoff, its error shown meanwhile.

RabbitMQ comes from ``LEDGER_TEST_BROKER_URL`` (default guest on 127.0.0.1:5672).
Unreachable, these tests are skipped, unless ``CI=true``, where that is a failure
(``.ci/run`` starts it). Each test has a queue of its own, deleted after it.
"""

from __future__ import annotations

import io
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pika
import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from ledger import create_app
from ledger.batches.models import Batch, BatchPayment, BatchRow
from ledger.db import db
from ledger.jobs.models import Job
from ledger.jobs.services import enqueue
from ledger.payees.models import Payee
from ledger.screening.models import ReviewCase
from ledger.screening.services import rescreen_all
from tests.batches.world import csv_file, households, programme, submit
from tests.factories import LedgerDriver

BROKER_URL = os.environ.get("LEDGER_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
REQUIRED = os.environ.get("CI", "").lower() == "true"
FLASK = Path(sys.executable).with_name("flask")

pytestmark = [pytest.mark.rabbitmq, pytest.mark.real_commits, pytest.mark.postgresql_only]


def _reachable() -> str | None:
    parameters = pika.URLParameters(BROKER_URL)
    parameters.socket_timeout = 3
    parameters.connection_attempts = 1
    try:
        pika.BlockingConnection(parameters).close()
    except Exception as exc:  # any failure to connect means "not reachable"
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    return None


@pytest.fixture(scope="session")
def broker_url() -> str:
    problem = _reachable()
    if problem:
        if REQUIRED:
            pytest.fail(f"RabbitMQ is required (CI=true) but not reachable: {problem}")
        pytest.skip(f"RabbitMQ not reachable at {BROKER_URL} (LEDGER_TEST_BROKER_URL)")
    return BROKER_URL


@pytest.fixture
def queue_name(broker_url: str) -> Iterator[str]:
    """A queue of this test's own, deleted after it (with its delay queues)."""
    name = f"ledger-test-{os.getpid()}-{secrets.token_hex(3)}"
    yield name
    connection = pika.BlockingConnection(pika.URLParameters(broker_url))
    try:
        channel = connection.channel()
        for queue in (name, f"{name}.DQ", f"{name}.XQ"):
            channel.queue_delete(queue)
    finally:
        connection.close()


@pytest.fixture
def web(app: Flask, database_url: str, broker_url: str, queue_name: str) -> Iterator[Flask]:
    """An app server that sends its jobs to RabbitMQ (``app`` empties the tables after)."""
    server = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "JOBS_BROKER_URL": broker_url,
            "JOBS_QUEUE": queue_name,
        }
    )
    yield server
    server.extensions["ledger.jobs"].stop()
    server.extensions["ledger.db"].engine.dispose()


@pytest.fixture
def start_worker(
    database_url: str, broker_url: str, queue_name: str
) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start ``flask --app wsgi worker`` processes; any left running are stopped after."""
    started: list[subprocess.Popen[bytes]] = []

    def start(app: str = "wsgi", **settings: Any) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "LEDGER_DATABASE_URL": database_url,
            "LEDGER_JOBS_BROKER_URL": broker_url,
            "LEDGER_JOBS_QUEUE": queue_name,
            "LEDGER_JOBS_SCHEDULE": "false",
            "LEDGER_JOBS_THREADS": "1",
            "LEDGER_SCREENING_WORKERS": "1",
            "LEDGER_LOG_FORMAT": "text",
            **{f"LEDGER_{k}": str(v) for k, v in settings.items()},
        }
        process = subprocess.Popen(
            [str(FLASK), "--app", app, "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _job(server: Flask, job_id: int) -> Job:
    with server.app_context(), db.transaction() as session:
        job = session.get(Job, job_id)
        assert job is not None
        session.expunge(job)
        return job


def _wait(server: Flask, job_id: int, until: Callable[[Job], bool], seconds: float = 120) -> Job:
    deadline = time.monotonic() + seconds
    while not until(job := _job(server, job_id)):
        assert time.monotonic() < deadline, f"job {job_id} still {job.state}: {job.progress}"
        time.sleep(0.02)
    return job


def _kill(process: subprocess.Popen[bytes]) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait()


ROWS = 2000
CHUNK = 10


def test_a_worker_killed_mid_posting_leaves_the_job_to_another(
    web: Flask, start_worker: Callable[..., subprocess.Popen[bytes]]
) -> None:
    ledger = LedgerDriver(web, web.test_client())
    world = programme(ledger)
    batch = submit(ledger, world, csv_file(households(ROWS)))
    ledger.approve(batch["spending_request_id"])
    response = ledger.raw("POST", f"/batches/{batch['id']}/post", "treasurer", {})
    assert response.status_code == 202, response.get_data(as_text=True)
    job_id = response.get_json()["job_id"]

    first = start_worker(BATCH_CHUNK_SIZE=CHUNK)

    def mid_posting(job: Job) -> bool:
        with web.app_context(), db.transaction() as session:
            posted = session.scalar(sa.select(Batch.chunks_posted).where(Batch.id == batch["id"]))
        return job.state != "queued" and (posted or 0) >= 5

    _wait(web, job_id, mid_posting, seconds=60)
    _kill(first)
    killed = _job(web, job_id)
    assert (killed.state, killed.attempts) == ("running", 1), "it finished before the kill"
    assert ledger.get(f"/batches/{batch['id']}")["progress"]["rows"]["ready"] > 0

    start_worker(BATCH_CHUNK_SIZE=CHUNK)
    done = _wait(web, job_id, lambda job: job.state in ("done", "failed"))
    assert (done.state, done.attempts, done.error) == ("done", 2, None)
    assert done.progress["paid"] == ROWS

    with web.app_context(), db.transaction() as session:
        states = dict(
            session.execute(
                sa.select(BatchRow.state, sa.func.count()).group_by(BatchRow.state)
            ).all()
        )
        payments = session.scalar(sa.select(sa.func.count()).select_from(BatchPayment))
        rows_paid = session.scalar(sa.select(sa.func.count(sa.distinct(BatchPayment.row_id))))
    assert states == {"paid": ROWS}
    assert payments == rows_paid == ROWS
    assert ledger.get(f"/batches/{batch['id']}")["status"] == "posted"
    assert ledger.position(world["fund"]["id"])["base"]["disbursed"] == "200000.00"
    assert ledger.trial_balance(world["fund"]["id"])["balanced"] is True
    assert ledger.get("/audit-events/verify")["valid"] is True


LISTED_EVERY = 25


def test_a_worker_killed_mid_rescreen_leaves_the_job_to_another(
    web: Flask, start_worker: Callable[..., subprocess.Popen[bytes]]
) -> None:
    """Payees registered by a batch, then the fund's list naming every 25th: the
    import's re-screening, killed part-way, is finished by another worker: every
    payee screened once, every listed payee with its case, no hit with two."""
    ledger = LedgerDriver(web, web.test_client())
    world = programme(ledger)
    submit(ledger, world, csv_file(households(ROWS)))
    listed = range(1, ROWS + 1, LISTED_EVERY)
    fund_list = "id,kind,name\n" + "".join(
        f"F-{i},person,Household Member {i:06d}\n" for i in listed
    )
    boundary, body = encode_multipart(
        {"file": FileStorage(io.BytesIO(fund_list.encode()), filename="fund.csv")}
    )
    response = web.test_client().post(
        "/api/v1/watchlists/fund/versions",
        data=body,
        headers={"Authorization": f"Bearer {ledger.tokens['compliance']}"},
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 202, response.get_data(as_text=True)
    job_id = response.get_json()["job_id"]

    first = start_worker(JOBS_RESCREEN_CHUNK=CHUNK)
    _wait(web, job_id, lambda job: job.progress.get("payees_screened", 0) >= 100, seconds=60)
    _kill(first)
    killed = _job(web, job_id)
    assert killed.state == "running", "it finished before the kill"

    start_worker(JOBS_RESCREEN_CHUNK=CHUNK)
    done = _wait(web, job_id, lambda job: job.state in ("done", "failed"))
    assert (done.state, done.attempts) == ("done", 2)

    with web.app_context(), db.transaction() as session:
        payees = session.scalar(sa.select(sa.func.count()).select_from(Payee))
        cases = session.execute(
            sa.select(ReviewCase.payee_id, ReviewCase.entry_id).where(ReviewCase.kind == "match")
        ).all()
        listed_payees = set(
            session.scalars(
                sa.select(Payee.id).where(
                    Payee.name.in_([f"Household Member {i:06d}" for i in listed])
                )
            )
        )
    # Screened once each: the chunks committed before the kill were not done again.
    assert done.progress["payees_screened"] == payees == ROWS + 2
    # No hit has two cases; every listed payee has its case; and nothing was left:
    # screening everyone again now finds no hit without a case.
    assert len(cases) == len(set(cases)) == done.progress["cases_opened"]
    assert listed_payees <= {payee_id for payee_id, _ in cases}
    with web.app_context(), web.extensions["ledger.db"].sessionmaker() as session:
        assert rescreen_all(session, None, "test: again")["cases_opened"] == 0
        session.rollback()


def test_a_failing_job_is_retried_with_backoff_its_error_shown(
    web: Flask, start_worker: Callable[..., subprocess.Popen[bytes]]
) -> None:
    import tests.jobs.flaky  # noqa: F401  (the kind, to enqueue it here)

    ledger = LedgerDriver(web, web.test_client())
    with web.app_context(), db.transaction() as session:
        recovers = enqueue(session, "test.flaky", {"succeed_on": 3}).id
        never = enqueue(session, "test.flaky", {"succeed_on": 99}).id

    start_worker("tests.jobs.flaky_app", JOBS_MIN_BACKOFF_SECONDS=0.5, JOBS_MAX_RETRIES=2)
    # Between two runs: the error is there to read, the job waits for its retry.
    _wait(web, recovers, lambda job: job.state == "queued" and job.attempts == 1, seconds=60)
    seen = ledger.get(f"/jobs/{recovers}")
    assert (seen["state"], seen["attempts"]) == ("queued", 1)
    assert seen["error"] == "ConnectionError: transient failure on run 1"

    done = _wait(web, recovers, lambda job: job.state in ("done", "failed"), seconds=60)
    assert (done.state, done.attempts, done.progress) == ("done", 3, {"succeeded_on": 3})
    # Backoff: 0.5 s then 1 s, each stretched by up to as much again (jitter).
    assert done.finished_at is not None and done.started_at is not None
    assert (done.finished_at - done.started_at).total_seconds() >= 1.5

    failed = _wait(web, never, lambda job: job.state in ("done", "failed"), seconds=60)
    shown = ledger.get(f"/jobs/{never}")
    assert (shown["state"], shown["attempts"]) == ("failed", 3)  # the run and 2 retries
    assert shown["error"] == "ConnectionError: transient failure on run 3"
    assert failed.finished_at is not None
