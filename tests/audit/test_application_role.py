"""The application runs as a database role that cannot rewrite history (issue 8.3).

The migration creates `ledger_app`: SELECT, INSERT and UPDATE, no DELETE, no
TRUNCATE, and no UPDATE on the append-only tables. The triggers refuse those
changes even to the owner (tests/audit/test_audit_chain.py); here the role itself
is refused by its privileges, and the whole money path still works through it."""

import time

import pytest
import sqlalchemy as sa

from ledger import create_app
from tests.batches.world import csv_file, households, submit
from tests.factories import LedgerDriver

pytestmark = pytest.mark.postgresql_only

APPEND_ONLY = [
    "journal_entries",
    "journal_lines",
    "audit_events",
    "votes",
    "refusals",
    "allocations",
    "disbursement_allocations",
    "batch_payments",
    "audit_checkpoints",
]


@pytest.fixture
def as_app_role(session):
    """The test session; each test switches it to the application's role."""
    yield session
    session.rollback()


@pytest.mark.parametrize("table", APPEND_ONLY)
def test_the_application_role_cannot_update_append_only_tables(ledger, as_app_role, table):
    ledger.approved("100.00")
    as_app_role.execute(sa.text("SET LOCAL ROLE ledger_app"))
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        as_app_role.execute(sa.text(f"UPDATE {table} SET id = id"))


@pytest.mark.parametrize(
    "table",
    [
        "journal_lines",
        "audit_events",
        "payees",
        "pledges",
        "spending_requests",
        "restrictions",
        "users",
    ],
)
@pytest.mark.parametrize("statement", ["DELETE FROM {t}", "TRUNCATE {t} CASCADE"])
def test_the_application_role_deletes_nothing(ledger, as_app_role, table, statement):
    ledger.approved("100.00")
    as_app_role.execute(sa.text("SET LOCAL ROLE ledger_app"))
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        as_app_role.execute(sa.text(statement.format(t=table)))


@pytest.mark.real_commits  # an app of its own, logging in as another role
def test_the_whole_money_path_runs_as_the_application_role(app, database_url):
    """An app server logging in as a member of ledger_app does all its work."""
    owner = sa.create_engine(
        sa.make_url(database_url).set(drivername="postgresql+psycopg"),
        isolation_level="AUTOCOMMIT",
        poolclass=sa.pool.NullPool,
    )
    with owner.connect() as conn:
        conn.exec_driver_sql(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ledger_web_test')"
            " THEN CREATE ROLE ledger_web_test LOGIN IN ROLE ledger_app; END IF; END $$"
        )
    owner.dispose()
    url = sa.make_url(database_url).set(username="ledger_web_test").render_as_string(False)
    # No broker: the batch's job runs on this app's in-process worker (make run's way).
    web = create_app({"TESTING": True, "DATABASE_URL": url, "JOBS_SCHEDULE": False})
    try:
        ledger = LedgerDriver(web, web.test_client())
        world = ledger.approved("1000.00")
        ledger.disburse(world["request"]["id"], "400.00")
        ledger.disburse(world["request"]["id"], "100.00")
        ledger.call(
            "POST",
            f"/payees/{world['payee']['id']}/restrictions",
            "compliance",
            {"reason": "test"},
            expect=201,
        )
        assert ledger.disburse(world["request"]["id"], "1.00", expect=409)["code"] == (
            "payee_restricted"
        )
        assert ledger.trial_balance(world["fund"]["id"])["balanced"] is True

        # A batch: payees, rows and payment records go in with COPY, payee ids
        # from the sequence (ledger/bulk.py), all within the role's privileges.
        cash = {**world, "programme": ledger.payee("WFP cash-assistance programme, Gaza 2021")}
        batch = submit(ledger, cash, csv_file(households(40)))
        ledger.approve(batch["spending_request_id"])
        ledger.call("POST", f"/batches/{batch['id']}/post", "treasurer", {}, expect=202)
        deadline = time.monotonic() + 30
        while ledger.get(f"/batches/{batch['id']}")["status"] != "posted":
            assert time.monotonic() < deadline, "the batch was not posted in 30 s"
            time.sleep(0.05)
        assert ledger.get(f"/batches/{batch['id']}")["progress"]["rows"]["paid"] == 40
        assert ledger.trial_balance(cash["fund"]["id"])["balanced"] is True
        assert ledger.get("/audit-events/verify")["valid"] is True
    finally:
        web.extensions["ledger.jobs"].stop()
        web.extensions["ledger.db"].engine.dispose()
