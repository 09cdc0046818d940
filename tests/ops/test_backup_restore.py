"""Backup and restore on PostgreSQL, as docs/operations.md tells it: pg_dump in the
custom format, pg_restore into a new, empty database, then check the copy: the
audit chain verifies (``flask --app wsgi audit verify`` exits 0), the trial balance
is zero, the figures are those of the original, and the copy is at the migrations'
head and ready."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ledger import create_app
from ledger.config import PROJECT_ROOT
from ledger.migrations import upgrade
from tests.conftest import PG_REQUIRED
from tests.factories import LedgerDriver
from tests.ops.pg import fresh_database, plain_url, require_postgresql

# Real commits: pg_dump reads what was committed, in a process of its own.
pytestmark = pytest.mark.real_commits

FLASK = Path(sys.executable).with_name("flask")


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, capture_output=True, text=True, check=False, env=env, cwd=PROJECT_ROOT, timeout=120
    )


def test_a_dump_restored_into_a_new_database_verifies_and_balances(tmp_path):
    require_postgresql()
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        # Where PostgreSQL is required (CI), its client tools are too.
        if PG_REQUIRED:
            pytest.fail("pg_dump / pg_restore not installed, and PostgreSQL is required")
        pytest.skip("pg_dump / pg_restore not installed")
    dump = tmp_path / "ledger.dump"

    with fresh_database("ledger_backup") as source_url:
        source = plain_url(source_url)
        upgrade(source)
        app = create_app({"TESTING": True, "DATABASE_URL": source})
        driver = LedgerDriver(app, app.test_client())
        world = driver.approved("100000.00")
        driver.disburse(world["request"]["id"], "2500.00")
        fund_id = world["fund"]["id"]
        position = driver.position(fund_id)
        chain = driver.get("/audit-events/verify")
        app.extensions["ledger.db"].engine.dispose()

        backup = _run("pg_dump", "--format=custom", "--file", str(dump), source)
        assert backup.returncode == 0, backup.stderr

    # The original is gone; only the dump remains.
    with fresh_database("ledger_restored") as target_url:
        target = plain_url(target_url)
        restore = _run("pg_restore", "--no-owner", "--exit-on-error", "--dbname", target, str(dump))
        assert restore.returncode == 0, restore.stderr

        verify = _run(
            str(FLASK), "--app", "wsgi", "audit", "verify",
            env={**os.environ, "LEDGER_DATABASE_URL": target},
        )  # fmt: skip
        restored = create_app({"TESTING": True, "DATABASE_URL": target})
        client = restored.test_client()
        auditor = {"Authorization": f"Bearer {driver.tokens['auditor']}"}
        ready = client.get("/readyz")
        restored_chain = client.get("/api/v1/audit-events/verify", headers=auditor).get_json()
        trial = client.get(
            f"/api/v1/reports/trial-balance?fund_id={fund_id}", headers=auditor
        ).get_json()
        restored_position = client.get(
            f"/api/v1/reports/fund-position?fund_id={fund_id}", headers=auditor
        ).get_json()
        restored.extensions["ledger.db"].engine.dispose()

    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert '"valid": true' in verify.stdout
    assert restored_chain["valid"] is True
    assert restored_chain["head_seq"] == chain["head_seq"] > 0
    assert trial["balanced"] is True
    assert restored_position == position
    assert restored_position["base"]["disbursed"] == "2500.00"
    assert ready.status_code == 200
