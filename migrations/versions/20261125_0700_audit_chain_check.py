"""ledger_check(ok, message): raise ``message`` unless ``ok`` (PostgreSQL).

The audit chain's step now travels with COMMIT, in one round trip: its result
can no longer be read before the transaction commits, so the statement checks
itself (every event written, the head moved) and fails, rolling the whole
transaction back, when it did not. See ledger/audit/services.py.

Revision ID: 5b1e7d2c9a04
Revises: 3c8d2f61a7b9
Create Date: 2026-11-25 07:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5b1e7d2c9a04"
down_revision: str | None = "3c8d2f61a7b9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION = """
CREATE FUNCTION ledger_check(ok boolean, message text) RETURNS boolean
LANGUAGE plpgsql AS $fn$
BEGIN
    IF ok IS NOT TRUE THEN
        RAISE EXCEPTION '%', message;
    END IF;
    RETURN true;
END;
$fn$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS ledger_check(boolean, text)")
