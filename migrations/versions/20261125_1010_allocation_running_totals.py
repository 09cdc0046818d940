"""Running totals of what a request's payments used of each contribution.

``disbursement_allocations.used_after_minor``: what the request's payments have used
of the contribution, the row included. A payment read the sum of every earlier row
of its request for each contribution, so each payment of a request cost more than
the one before (about 1 ms more per 5,000 payments in ``ledger_disburse()``); it
now reads the newest row, through an index on (request, contribution, id), which
replaces the one on (request, contribution). Existing rows get their running totals
(the append-only trigger is set aside for that one UPDATE), and ``ledger_disburse()``
writes them as ``allocate_disbursement`` and the reversal do.

Revision ID: 7f3a9c1d5e20
Revises: 9d4a6c3e8f12
Create Date: 2026-11-25 10:10:00+00:00
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "7f3a9c1d5e20"
down_revision: str | None = "9d4a6c3e8f12"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL_POSTGRESQL = """
UPDATE disbursement_allocations AS da SET used_after_minor = w.running
FROM (
    SELECT id, sum(base_amount_minor) OVER (
        PARTITION BY spending_request_id, contribution_id ORDER BY id) AS running
    FROM disbursement_allocations) AS w
WHERE w.id = da.id
"""
BACKFILL_SQLITE = """
UPDATE disbursement_allocations SET used_after_minor = (
    SELECT sum(b.base_amount_minor) FROM disbursement_allocations AS b
    WHERE b.spending_request_id = disbursement_allocations.spending_request_id
      AND b.contribution_id = disbursement_allocations.contribution_id
      AND b.id <= disbursement_allocations.id)
"""

FUNCTION = """
CREATE OR REPLACE FUNCTION ledger_disburse(
    p_actor_id bigint,
    p_request_id bigint,
    p_amount_minor bigint,
    p_currency text,
    p_reference text,
    p_paid_on date,
    p_now timestamptz,
    p_screening json,
    p_list_id bigint,
    p_list_imported_at timestamptz
) RETURNS TABLE (disbursement text, request_before text, payee_digest text)
LANGUAGE plpgsql AS $fn$
DECLARE
    r spending_requests%ROWTYPE;
    d disbursements%ROWTYPE;
    v_base_currency text;
    v_released bigint;
    v_list_id bigint;
    v_list_at timestamptz;
    v_payee_name text;
    v_digest text;
    v_entry_id bigint;
    v_left bigint;
    v_take bigint;
    v_contributions bigint[] := '{}';
    v_takes bigint[] := '{}';
    v_used bigint[] := '{}';
    h record;
BEGIN
    -- The same lock as lock_request(): concurrent payments of one request queue here.
    SELECT * INTO r FROM spending_requests WHERE id = p_request_id FOR UPDATE;
    IF NOT FOUND OR r.status <> 'approved' OR r.currency <> p_currency
       OR r.fx_rate IS NOT NULL OR p_amount_minor <= 0
       -- The last payment releases exactly what remains of the commitment's base.
       OR p_amount_minor >= r.amount_minor - r.disbursed_minor THEN
        RETURN;
    END IF;
    SELECT base_currency INTO v_base_currency FROM funds WHERE id = r.fund_id;
    IF v_base_currency <> p_currency THEN
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM tranches WHERE spending_request_id = r.id) THEN
        SELECT coalesce(sum(amount_minor) FILTER (WHERE released_at IS NOT NULL), 0)
          INTO v_released FROM tranches WHERE spending_request_id = r.id;
        IF p_amount_minor > v_released - r.disbursed_minor THEN
            RETURN;
        END IF;
    END IF;
    IF EXISTS (SELECT 1 FROM votes WHERE spending_request_id = r.id AND member_id = p_actor_id)
    THEN
        RETURN;
    END IF;
    IF EXISTS (
        SELECT 1 FROM restrictions
        WHERE lifted_at IS NULL
          AND (payee_id = r.payee_id OR payee_id IN (
                SELECT linked_payee_id FROM related_parties
                WHERE payee_id = r.payee_id AND linked_payee_id IS NOT NULL))
    ) OR EXISTS (
        SELECT 1 FROM review_cases
        WHERE payee_id = r.payee_id AND status = 'open' AND kind = 'match'
    ) OR EXISTS (
        SELECT 1 FROM closed_periods
        WHERE fund_id = r.fund_id AND starts_on <= p_paid_on AND ends_on >= p_paid_on
    ) THEN
        RETURN;
    END IF;
    SELECT id, imported_at INTO v_list_id, v_list_at
      FROM watchlist_versions ORDER BY id DESC LIMIT 1;
    IF v_list_id IS DISTINCT FROM p_list_id OR v_list_at IS DISTINCT FROM p_list_imported_at
    THEN
        RETURN;
    END IF;
    -- What the screening of the payee depends on: the caller re-screens when it changed.
    SELECT p.name, md5(to_jsonb(p)::text || coalesce(
               (SELECT jsonb_agg(to_jsonb(rp) ORDER BY rp.id)::text
                  FROM related_parties rp WHERE rp.payee_id = p.id), ''))
      INTO v_payee_name, v_digest
      FROM payees p WHERE p.id = r.payee_id;

    INSERT INTO disbursements (
        spending_request_id, fund_id, payee_id, amount_minor, currency, fx_rate,
        base_amount_minor, reference, paid_on, screening, created_by, created_at)
    VALUES (
        r.id, r.fund_id, r.payee_id, p_amount_minor, p_currency, NULL,
        p_amount_minor, p_reference, p_paid_on, p_screening, p_actor_id, p_now)
    RETURNING * INTO d;

    INSERT INTO journal_entries (
        fund_id, kind, value_date, memo, source_type, source_id, created_by, created_at)
    VALUES (
        r.fund_id, 'disbursement', p_paid_on,
        left(format('Disbursement %s to %s (%s)', d.id, v_payee_name, p_reference), 500),
        'disbursement', d.id, p_actor_id, p_now)
    RETURNING id INTO v_entry_id;

    -- Rate 1 and not the last payment: the commitment's base moves by the amount.
    INSERT INTO journal_lines (
        entry_id, fund_id, value_date, kind, account, currency, amount_minor,
        base_amount_minor, project_id, payee_id, spending_request_id)
    VALUES
        (v_entry_id, r.fund_id, p_paid_on, 'disbursement', 'disbursements', p_currency,
         p_amount_minor, p_amount_minor, r.project_id, r.payee_id, r.id),
        (v_entry_id, r.fund_id, p_paid_on, 'disbursement', 'cash', p_currency,
         -p_amount_minor, -p_amount_minor, r.project_id, r.payee_id, r.id),
        (v_entry_id, r.fund_id, p_paid_on, 'disbursement', 'commitment_reserve', p_currency,
         p_amount_minor, p_amount_minor, r.project_id, r.payee_id, r.id),
        (v_entry_id, r.fund_id, p_paid_on, 'disbursement', 'commitments_outstanding',
         p_currency, -p_amount_minor, -p_amount_minor, r.project_id, r.payee_id, r.id);

    -- allocate_disbursement(): the request's allocations in the order they were made,
    -- net of what earlier payments used (the running total on the request's newest
    -- row for the contribution); a rounding remainder goes to the last one.
    v_left := p_amount_minor;
    FOR h IN
        SELECT a.contribution_id, sum(a.base_amount_minor) AS held,
               coalesce(max((
                   SELECT da.used_after_minor FROM disbursement_allocations da
                   WHERE da.spending_request_id = r.id
                     AND da.contribution_id = a.contribution_id
                   ORDER BY da.id DESC LIMIT 1)), 0) AS used
        FROM allocations a
        WHERE a.spending_request_id = r.id
        GROUP BY a.contribution_id
        ORDER BY min(a.id)
    LOOP
        EXIT WHEN v_left <= 0;
        v_take := least(h.held - h.used, v_left);
        IF v_take > 0 THEN
            v_contributions := v_contributions || h.contribution_id;
            v_takes := v_takes || v_take;
            v_used := v_used || (h.used + v_take);
            v_left := v_left - v_take;
        END IF;
    END LOOP;
    IF v_left <> 0 AND cardinality(v_takes) > 0 THEN
        v_takes[cardinality(v_takes)] := v_takes[cardinality(v_takes)] + v_left;
        v_used[cardinality(v_used)] := v_used[cardinality(v_used)] + v_left;
    END IF;
    INSERT INTO disbursement_allocations (
        disbursement_id, contribution_id, spending_request_id, base_amount_minor,
        used_after_minor, value_date, created_at)
    SELECT d.id, u.contribution_id, r.id, u.take, u.used, p_paid_on, p_now
    FROM unnest(v_contributions, v_takes, v_used)
         WITH ORDINALITY AS u(contribution_id, take, used, n)
    ORDER BY u.n;

    UPDATE spending_requests SET disbursed_minor = disbursed_minor + p_amount_minor
    WHERE id = r.id;

    disbursement := to_jsonb(d)::text;
    request_before := to_jsonb(r)::text;
    payee_digest := v_digest;
    RETURN NEXT;
END;
$fn$
"""


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("disbursement_allocations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("used_after_minor", sa.BigInteger(), nullable=True))
    if postgresql:
        trigger = "TRIGGER disbursement_allocations_append_only"
        op.execute(f"ALTER TABLE disbursement_allocations DISABLE {trigger}")
        op.execute(BACKFILL_POSTGRESQL)
        op.execute(f"ALTER TABLE disbursement_allocations ENABLE {trigger}")
    else:
        op.execute(BACKFILL_SQLITE)
    with op.batch_alter_table("disbursement_allocations", schema=None) as batch_op:
        batch_op.alter_column("used_after_minor", existing_type=sa.BigInteger(), nullable=False)
        batch_op.drop_index("ix_disbursement_allocations_request_contribution")
        batch_op.create_index(
            "ix_disbursement_allocations_request_contribution_id",
            ["spending_request_id", "contribution_id", "id"],
            unique=False,
        )
    if postgresql:
        op.execute(FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # The function as it was: its text lives in the revision that created it.
        path = Path(__file__).with_name("20261125_0400_disburse_in_database.py")
        spec = importlib.util.spec_from_file_location("disburse_in_database", path)
        assert spec is not None and spec.loader is not None
        created = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(created)
        op.execute(created.FUNCTION.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    with op.batch_alter_table("disbursement_allocations", schema=None) as batch_op:
        batch_op.drop_index("ix_disbursement_allocations_request_contribution_id")
        batch_op.create_index(
            "ix_disbursement_allocations_request_contribution",
            ["spending_request_id", "contribution_id"],
            unique=False,
        )
        batch_op.drop_column("used_after_minor")
