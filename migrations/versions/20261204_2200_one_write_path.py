"""One write path: no function in the database pays, answers or audits.

Until now PostgreSQL held a second copy of the payment's rules in PL/pgSQL
(``ledger_disburse()``, ``ledger_pay()``), with SQL that wrote the audit trail's
canonical JSON (``ledger_json_time()``, ``ledger_canonical_json()``, the snapshot
helpers) and checked the chain step (``ledger_check()``). Every rule now lives once,
in Python (docs/decisions/0013-one-write-path.md); this revision drops those
functions from a database that has them. The revisions that created them no longer
do (their bodies are gone from ``migrations/``): a database built from scratch never
had them, and one upgraded from an older revision loses them here.

What stays in PostgreSQL is invariants only: the append-only triggers
(``ledger/invariants.py``) and the application role's grants.

Revision ID: 4d2a7e9c1b58
Revises: 8e6f1a2b3c47
Create Date: 2026-12-04 22:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "4d2a7e9c1b58"
down_revision: str | None = "8e6f1a2b3c47"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every overload of each name, whatever its arguments.
DROPPED = (
    "ledger_pay",
    "ledger_disburse",
    "ledger_request_snapshot",
    "ledger_request_parts",
    "ledger_request_key",
    "ledger_disbursement_snapshot",
    "ledger_canonical_json",
    "ledger_json_time",
    "ledger_check",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    names = ", ".join(f"'{name}'" for name in DROPPED)
    op.execute(
        f"""
        DO $$
        DECLARE f regprocedure;
        BEGIN
            FOR f IN SELECT p.oid::regprocedure FROM pg_proc AS p
                     WHERE p.proname IN ({names})
                       AND p.pronamespace = current_schema()::regnamespace
            LOOP
                EXECUTE 'DROP FUNCTION ' || f;
            END LOOP;
        END $$
        """
    )


def downgrade() -> None:
    # Nothing to restore: no code calls those functions any more.
    pass
