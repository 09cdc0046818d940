"""the application's database role: it may read, insert and update, never delete or
truncate, and never update the append-only tables.

On PostgreSQL only. The role `ledger_app` has no login: deploy with a login role
that is a member of it (docs/operations.md). Tables created by later migrations get
the same privileges by default; a later append-only table revokes UPDATE itself.

Revision ID: 7e2c1a9b5d40
Revises: b414e9e65f5f
Create Date: 2026-11-25 00:10:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "7e2c1a9b5d40"
down_revision: str | None = "b414e9e65f5f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "ledger_app"
APPEND_ONLY = (
    "journal_entries",
    "journal_lines",
    "audit_events",
    "votes",
    "refusals",
    "allocations",
    "request_amendments",
    "pledge_amendments",
    "disbursement_allocations",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # Roles belong to the whole server: create it once, whatever database runs this.
    op.execute(
        f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN
                CREATE ROLE {ROLE} NOLOGIN;
            END IF;
        END
        $$
        """
    )
    op.execute(f"GRANT USAGE ON SCHEMA public TO {ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO {ROLE}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {ROLE}")
    op.execute(f"REVOKE UPDATE ON alembic_version FROM {ROLE}")
    for table in APPEND_ONLY:
        op.execute(f"REVOKE UPDATE ON {table} FROM {ROLE}")
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE ON TABLES TO {ROLE}"
    )
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {ROLE}"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM {ROLE}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM {ROLE}")
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {ROLE}")
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {ROLE}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {ROLE}")
