"""Formerly ``ledger_pay()``, the payment's "fast lane" in PL/pgSQL; nothing now.

That second copy of the payment's rules is gone (revision 4d2a7e9c1b58 drops it
where it exists): every rule lives once, in Python. The revision stays so that
databases stamped with it still upgrade.

Revision ID: 2b7e4d9c1a36
Revises: 7f3a9c1d5e20
Create Date: 2026-11-25 16:00:00+00:00
"""

from collections.abc import Sequence

revision: str = "2b7e4d9c1a36"
down_revision: str | None = "7f3a9c1d5e20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
