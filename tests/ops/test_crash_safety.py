"""Crash safety: gunicorn is killed with SIGKILL while disbursements are under way,
restarted, and every request is retried with its Idempotency-Key.

Shown afterwards: no money moved twice or half (one disbursement per successful
key, each with its balanced journal entry; the approval never exceeded), the trial
balance is zero, the audit chain is valid, and every retry of a request that had
been answered 201 is answered with that same first answer (replayed).

PostgreSQL only: production's database, and the only one several gunicorn workers
share with real row locks. Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ledger import create_app
from ledger.config import PROJECT_ROOT
from ledger.migrations import upgrade
from tests.factories import LedgerDriver
from tests.ops.pg import fresh_database, plain_url, require_postgresql

# Real commits: gunicorn workers and a SIGKILL, on a database of its own.
pytestmark = pytest.mark.real_commits

GUNICORN = Path(sys.executable).with_name("gunicorn")
APPROVED = "500.00"  # room for exactly 50 payments of 10.00
PAYMENT = "10.00"
KEYS = 80  # more than fit: 30 must be refused, whatever the crash
THREADS = 8
KILL_AFTER = 20  # answers received before the SIGKILL


@pytest.fixture
def crash_db() -> Iterator[str]:
    """A fresh PostgreSQL database, migrated to head."""
    require_postgresql()
    with fresh_database("ledger_crash") as url:
        upgrade(url.render_as_string(hide_password=False))
        yield plain_url(url)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    """gunicorn serving wsgi:app on a loopback port, in a process group of its own."""

    def __init__(self, database_url: str, logs: Path) -> None:
        self.port = _free_port()
        self.database_url = database_url
        self.logs = logs
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "LEDGER_DATABASE_URL": self.database_url}
        with self.logs.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    str(GUNICORN),
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--workers",
                    "2",
                    "--threads",
                    "4",
                    "wsgi:app",
                ],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if self.request("GET", "/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"gunicorn did not start:\n{self.logs.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL the arbiter and its workers at once: no graceful anything."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            payload = None if body is None else json.dumps(body)
            hdrs = {"Content-Type": "application/json", **(headers or {})}
            conn.request(method, path, body=payload, headers=hdrs)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()


def test_sigkill_during_disbursements_moves_no_money_twice_or_half(crash_db, tmp_path):
    # Arrange, in process: a funded fund with an approved request of 500.00.
    app = create_app({"TESTING": True, "DATABASE_URL": crash_db})
    driver = LedgerDriver(app, app.test_client())
    world = driver.approved(APPROVED)
    request_id, fund_id = world["request"]["id"], world["fund"]["id"]
    treasurer = {"Authorization": f"Bearer {driver.tokens['treasurer']}"}
    auditor = {"Authorization": f"Bearer {driver.tokens['auditor']}"}
    app.extensions["ledger.db"].engine.dispose()

    keys = [f"crash-{i:03d}-{uuid.uuid4().hex[:6]}" for i in range(KEYS)]
    bodies = {
        key: {
            "spending_request_id": request_id,
            "amount": PAYMENT,
            "currency": "USD",
            "reference": f"PAY-{key}",
        }
        for key in keys
    }

    def pay(server: Server, key: str) -> tuple[int, dict[str, str], bytes]:
        return server.request(
            "POST", "/api/v1/disbursements", bodies[key], {**treasurer, "Idempotency-Key": key}
        )

    server = Server(crash_db, tmp_path / "gunicorn.log")
    server.start()
    first: dict[str, tuple[int, bytes]] = {}  # key -> the answer the client saw
    lost: list[str] = []
    lock = threading.Lock()
    todo = list(keys)

    def worker() -> None:
        while True:
            with lock:
                if not todo:
                    return
                key = todo.pop(0)
            try:
                status, _headers, body = pay(server, key)
            except (OSError, http.client.HTTPException):
                # No whole answer: the kill came before it or in the middle of it
                # (IncompleteRead); the key is retried after the restart.
                with lock:
                    lost.append(key)
                continue
            with lock:
                first[key] = (status, body)

    try:
        threads = [threading.Thread(target=worker) for _ in range(THREADS)]
        for t in threads:
            t.start()
        while len(first) < KILL_AFTER:
            time.sleep(0.005)
        server.kill()  # mid-flight: THREADS requests are in progress
        for t in threads:
            t.join(timeout=60)

        # Every key the crash left unanswered or unsent is retried after a restart.
        server.start()
        retried: dict[str, tuple[int, dict[str, str], bytes]] = {
            key: pay(server, key) for key in keys
        }
        again = {key: pay(server, key) for key in keys}
        position = json.loads(
            server.request(
                "GET", f"/api/v1/reports/fund-position?fund_id={fund_id}", None, auditor
            )[2]
        )
        trial = json.loads(
            server.request(
                "GET", f"/api/v1/reports/trial-balance?fund_id={fund_id}", None, auditor
            )[2]
        )
        chain = json.loads(server.request("GET", "/api/v1/audit-events/verify", None, auditor)[2])
        spending = json.loads(
            server.request("GET", f"/api/v1/spending-requests/{request_id}", None, auditor)[2]
        )
    finally:
        server.stop()

    # The crash happened mid-flight, and the run covered answers, losses and refusals.
    assert lost, "the kill should have cut some requests off"
    assert len(first) + len(lost) == KEYS

    # Every request first answered 201 is answered the same on each retry: replayed.
    for key, (status, body) in first.items():
        if status == 201:
            assert retried[key][0] == 201, key
            assert retried[key][2] == body, key
            assert retried[key][1].get("Idempotent-Replayed") == "true", key
    # After the restart every key has one answer, 201 or a refusal, and keeps it.
    paid = {key for key, (status, _h, _b) in retried.items() if status == 201}
    refused = {key for key, (status, _h, _b) in retried.items() if status == 409}
    assert paid | refused == set(keys)
    for key in paid:
        assert again[key][0] == 201 and again[key][2] == retried[key][2]
    for key in refused:
        assert json.loads(retried[key][2])["code"] == "exceeds_approval"

    # Exactly 50 payments of 10.00: the approval is used to the cent, never beyond.
    assert len(paid) == 50
    ids = {json.loads(retried[key][2])["id"] for key in paid}
    assert len(ids) == 50  # one disbursement per key
    assert spending["disbursed"] == APPROVED
    assert position["base"]["disbursed"] == APPROVED

    # In the database: nothing half-written.
    engine = sa.create_engine(sa.make_url(crash_db).set(drivername="postgresql+psycopg"))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT count(*), coalesce(sum(amount_minor), 0) FROM disbursements")
            ).one()
            entries = conn.execute(
                sa.text("SELECT count(*) FROM journal_entries WHERE source_type = 'disbursement'")
            ).scalar_one()
            unbalanced = conn.execute(
                sa.text(
                    "SELECT count(*) FROM (SELECT entry_id FROM journal_lines "
                    "GROUP BY entry_id, currency HAVING sum(amount_minor) <> 0 "
                    "UNION SELECT entry_id FROM journal_lines "
                    "GROUP BY entry_id HAVING sum(base_amount_minor) <> 0) AS u"
                )
            ).scalar_one()
            unfinished_keys = conn.execute(
                sa.text("SELECT count(*) FROM idempotency_keys WHERE status_code IS NULL")
            ).scalar_one()
    finally:
        engine.dispose()
    assert tuple(rows) == (50, 50 * 1000)
    assert entries == 50
    assert unbalanced == 0
    assert unfinished_keys == 0
    assert trial["balanced"] is True
    assert chain["valid"] is True
