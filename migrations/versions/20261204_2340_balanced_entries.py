"""The database refuses an unbalanced journal entry (PostgreSQL), SPEC §3.1, §3.12.

A constraint trigger on ``journal_entries``, deferred to the commit, checks that
every entry made in the transaction sums to zero per currency and in base currency
(``ledger/invariants.py``, ``BALANCED``). ``post_entry`` refuses first, with a clear
error; this holds whoever writes the lines.

Revision ID: 5f7c3a9e2b16
Revises: 2e8b5d1c7a40
Create Date: 2026-12-04 23:40:00+00:00
"""

from collections.abc import Sequence

from alembic import op

from ledger import invariants

revision: str = "5f7c3a9e2b16"
down_revision: str | None = "2e8b5d1c7a40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in invariants.BALANCED:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in invariants.DROP_BALANCED:
            op.execute(statement)
