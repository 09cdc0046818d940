"""A bank reference pays once: unique within its fund (disbursements) and within
its pledge (contributions), SPEC §3.11.

``disburse()`` and ``record_contribution()`` check it first and answer
``409 reference_in_use`` naming the first record; these constraints hold the rule
against two requests that race past the check. A database that already holds a
reference twice is named and left unchanged: settle those first.

Revision ID: 6a1f3c8e2d94
Revises: 4d2a7e9c1b58
Create Date: 2026-12-04 23:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6a1f3c8e2d94"
down_revision: str | None = "4d2a7e9c1b58"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNIQUE = (
    ("disbursements", "fund_id"),
    ("contributions", "pledge_id"),
)


def upgrade() -> None:
    bind = op.get_bind()
    for table, scope in UNIQUE:
        twice = bind.execute(
            sa.text(
                f"SELECT {scope}, reference, count(*) FROM {table} "
                f"GROUP BY {scope}, reference HAVING count(*) > 1 LIMIT 5"
            )
        ).all()
        if twice:
            raise RuntimeError(
                f"{table}: bank references used more than once within one {scope} "
                f"({', '.join(f'{s} {r!r} x{n}' for s, r, n in twice)}): settle them, then "
                "upgrade again."
            )
    for table, scope in UNIQUE:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_unique_constraint(
                batch_op.f(f"uq_{table}_{scope}_reference"), [scope, "reference"]
            )


def downgrade() -> None:
    for table, scope in UNIQUE:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f"uq_{table}_{scope}_reference"), type_="unique")
