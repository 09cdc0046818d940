"""Formerly the payment answered and audited in SQL (``ledger_pay()`` and the
canonical-JSON helpers); nothing now.

That copy of the payment's rules and of the audit trail's canonical JSON is gone
(revision 4d2a7e9c1b58 drops it where it exists): every rule lives once, in
Python. The revision stays so that databases stamped with it still upgrade.

Revision ID: 8e6f1a2b3c47
Revises: 2b7e4d9c1a36
Create Date: 2026-11-25 18:00:00+00:00
"""

from collections.abc import Sequence

revision: str = "8e6f1a2b3c47"
down_revision: str | None = "2b7e4d9c1a36"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
