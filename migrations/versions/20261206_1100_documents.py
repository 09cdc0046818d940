"""documents (issue 26, item 3): files attached to spending requests, use reports,
votes and review cases, each row naming its file by the sha256 of its bytes.

Append-only, as the audit chain that also records each attachment: PostgreSQL
refuses UPDATE, DELETE and TRUNCATE on it (``ledger/invariants.py``), and the
application's role may not update it.

Revision ID: d3f6a8c1e5b7
Revises: c3e5a7b9d1f4
Create Date: 2026-12-06 11:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ledger.db
from ledger import invariants

revision: str = "d3f6a8c1e5b7"
down_revision: str | None = "c3e5a7b9d1f4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "documents",
        sa.Column("id", big_id, autoincrement=True, nullable=False),
        sa.Column("record_type", sa.String(length=20), nullable=False),
        sa.Column("record_id", big_id, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("uploaded_by", big_id, nullable=False),
        sa.Column("uploaded_at", ledger.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "record_type IN ('spending_request', 'use_report', 'vote', 'review_case')",
            name=op.f("ck_documents_record_type"),
        ),
        sa.CheckConstraint("size > 0", name=op.f("ck_documents_size_positive")),
        sa.ForeignKeyConstraint(
            ["uploaded_by"], ["users.id"], name=op.f("fk_documents_uploaded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
    )
    op.create_index("ix_documents_record", "documents", ["record_type", "record_id", "id"])
    op.create_index(op.f("ix_documents_sha256"), "documents", ["sha256"])
    if op.get_bind().dialect.name == "postgresql":
        for statement in invariants.append_only("documents", app_role=True):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in invariants.drop_append_only("documents"):
            op.execute(statement)
    op.drop_index(op.f("ix_documents_sha256"), table_name="documents")
    op.drop_index("ix_documents_record", table_name="documents")
    op.drop_table("documents")
