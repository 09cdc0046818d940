"""Formerly ``ledger_check()``, for the audit chain step written in SQL; nothing now.

The chain is linked in Python (``ledger/audit/services.py``) and the function is
gone (revision 4d2a7e9c1b58 drops it where it exists). The revision stays so that
databases stamped with it still upgrade.

Revision ID: 5b1e7d2c9a04
Revises: 3c8d2f61a7b9
Create Date: 2026-11-25 07:00:00+00:00
"""

from collections.abc import Sequence

revision: str = "5b1e7d2c9a04"
down_revision: str | None = "3c8d2f61a7b9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
