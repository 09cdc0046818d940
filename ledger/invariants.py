"""What PostgreSQL itself enforces, whatever the application does: invariants, not
business rules (docs/decisions/0013-one-write-path.md).

Defined once, here; the migrations that create or drop these objects import them
from this module instead of copying SQL from one revision into the next. A change to
a definition here is made in a new revision that re-applies it (``CREATE OR
REPLACE``), as alembic_utils' replaceable objects are.

- Append-only tables: ``UPDATE``, ``DELETE`` and ``TRUNCATE`` refused to everyone,
  by triggers (``append_only``), and ``UPDATE`` withheld from the application's role
  (revision 7e2c1a9b5d40 and the ones that add such tables).
- Balanced entries (SPEC §3.1): at commit, every journal entry made in the
  transaction sums to zero per currency and in base currency (``BALANCED``),
  whoever wrote its lines.
  ``journal.services.post_entry`` refuses an unbalanced entry first, with a clear
  error; this is the database's own check behind it.
"""

from __future__ import annotations

REFUSE_CHANGE = """
CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: % on % is not allowed: the table is append-only',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END;
$$
"""
DROP_REFUSE_CHANGE = "DROP FUNCTION IF EXISTS ledger_refuse_change()"

# A constraint trigger on the entry, deferred to the commit (an entry's lines
# arrive after it, in one or more statements): one check an entry, its lines'
# sums read by their index. (On the lines it would check an entry once a line:
# a 100,000-line entry, 100,000 times.)
BALANCED = [
    """
    CREATE OR REPLACE FUNCTION ledger_entry_balances() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (
            SELECT 1 FROM journal_lines WHERE entry_id = NEW.id
            GROUP BY currency HAVING sum(amount_minor) <> 0
        ) OR (
            SELECT sum(base_amount_minor) FROM journal_lines WHERE entry_id = NEW.id
        ) <> 0 THEN
            RAISE EXCEPTION 'ledger: journal entry % does not balance', NEW.id
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
    END;
    $$
    """,
    "CREATE CONSTRAINT TRIGGER journal_entries_balanced AFTER INSERT ON journal_entries "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_balances()",
]
DROP_BALANCED = [
    "DROP TRIGGER IF EXISTS journal_entries_balanced ON journal_entries",
    "DROP FUNCTION IF EXISTS ledger_entry_balances()",
]


def append_only(table: str, *, app_role: bool = False) -> list[str]:
    """The statements that make ``table`` append-only (``REFUSE_CHANGE`` first);
    ``app_role``: also withhold ``UPDATE`` on it from the application's role, for a
    table made after that role's grants (revision 7e2c1a9b5d40)."""
    statements = [
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()",
    ]
    if app_role:
        statements.append(
            "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ledger_app') "
            f"THEN REVOKE UPDATE ON {table} FROM ledger_app; END IF; END $$"
        )
    return statements


def drop_append_only(table: str) -> list[str]:
    """The statements that undo ``append_only(table)``."""
    return [
        f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
        f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
    ]
