"""A posting process killed with SIGKILL mid-batch, then run again: every payable
row is paid exactly once, the books balance, the audit chain is valid."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from ledger.batches.models import Batch, BatchPayment, BatchRow
from ledger.db import db, sqlite_begin
from tests.batches.world import csv_file, households, programme, submit
from tests.factories import LedgerDriver

# Real commits: the posting runs in a `flask` process of its own, killed mid-batch.
pytestmark = pytest.mark.real_commits

FLASK = Path(sys.executable).with_name("flask")
ROWS = 1500
CHUNK = 5


def _post(database_url: str, batch_id: int, *, errors: bool = False) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LEDGER_DATABASE_URL": database_url}
    command = [str(FLASK), "--app", "wsgi", "batches", "post", str(batch_id)]
    return subprocess.Popen(
        [*command, "--user", "treasurer", "--chunk-size", str(CHUNK)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE if errors else subprocess.DEVNULL,
    )


def _chunks_posted(app: Flask, batch_id: int) -> tuple[int, str]:
    # A read: on SQLite it must not queue for the write lock the poster keeps taking.
    token = sqlite_begin.set("BEGIN")
    try:
        with app.app_context(), db.transaction() as session:
            batch = session.get(Batch, batch_id)
            assert batch is not None
            return batch.chunks_posted, batch.status
    finally:
        sqlite_begin.reset(token)


def test_killed_posting_resumes_and_pays_every_row_once(
    ledger: LedgerDriver, app: Flask, database_url: str
) -> None:
    world = programme(ledger)
    batch = submit(ledger, world, csv_file(households(ROWS)))
    ledger.approve(batch["spending_request_id"])

    proc = _post(database_url, batch["id"])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        chunks, status = _chunks_posted(app, batch["id"])
        if chunks >= 5 or proc.poll() is not None:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    chunks, status = _chunks_posted(app, batch["id"])
    assert status == "posting", "the run finished before it could be killed"
    assert 0 < chunks * CHUNK < ROWS

    proc = _post(database_url, batch["id"], errors=True)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()[-2000:]

    with app.app_context():
        session = db.session
        states = dict(
            session.execute(
                sa.select(BatchRow.state, sa.func.count()).group_by(BatchRow.state)
            ).all()
        )
        payments = session.scalar(sa.select(sa.func.count()).select_from(BatchPayment))
        rows_paid = session.scalar(sa.select(sa.func.count(sa.distinct(BatchPayment.row_id))))
        status = session.scalar(sa.select(Batch.status))
    assert states == {"paid": ROWS}
    assert payments == rows_paid == ROWS
    assert status == "posted"
    base = ledger.position(world["fund"]["id"])["base"]
    assert base["disbursed"] == "150000.00"
    assert ledger.trial_balance(world["fund"]["id"])["balanced"] is True
    assert ledger.get("/audit-events/verify")["valid"] is True
