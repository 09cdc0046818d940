"""ledger_disburse(): an ordinary payment as one database round trip (PostgreSQL);
and an index for what each payment reads of its request's earlier ones.

The function pays only when every rule of ``disburse`` plainly holds: an approved
request in the fund's base currency, no rate, not the last payment of it (whose
commitment base is what remains), within the released tranches, not paid by one of
its voters, no restriction on the payee or a related party, no open review case,
an open period, and the watchlists the caller screened against still the latest.
Then it writes what the Python path writes: the disbursement, its journal entry and
four lines, its attribution to contributions, and the request's paid amount; and
returns the rows the audit trail needs. In any other case it writes nothing and
returns no row: the caller runs the Python path, which refuses with the evidence
(or pays the case the function leaves to it). See docs/architecture.md.

Revision ID: 3c8d2f61a7b9
Revises: 0718ec52de5d
Create Date: 2026-11-25 04:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "3c8d2f61a7b9"
down_revision: str | None = "0718ec52de5d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIGNATURE = (
    "ledger_disburse(bigint, bigint, bigint, text, text, date, timestamptz, json, "
    "bigint, timestamptz)"
)

FUNCTION = """
CREATE FUNCTION ledger_disburse(
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
    -- net of what earlier payments used; a rounding remainder goes to the last one.
    v_left := p_amount_minor;
    FOR h IN
        SELECT a.contribution_id, sum(a.base_amount_minor) AS held,
               coalesce(max((
                   SELECT sum(da.base_amount_minor) FROM disbursement_allocations da
                   WHERE da.spending_request_id = r.id
                     AND da.contribution_id = a.contribution_id)), 0) AS used
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
            v_left := v_left - v_take;
        END IF;
    END LOOP;
    IF v_left <> 0 AND cardinality(v_takes) > 0 THEN
        v_takes[cardinality(v_takes)] := v_takes[cardinality(v_takes)] + v_left;
    END IF;
    INSERT INTO disbursement_allocations (
        disbursement_id, contribution_id, spending_request_id, base_amount_minor,
        value_date, created_at)
    SELECT d.id, u.contribution_id, r.id, u.take, p_paid_on, p_now
    FROM unnest(v_contributions, v_takes) WITH ORDINALITY AS u(contribution_id, take, n)
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
    # Every payment reads what the request's payments used of each contribution.
    with op.batch_alter_table("disbursement_allocations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_disbursement_allocations_request_contribution",
            ["spending_request_id", "contribution_id"],
            unique=False,
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION)
        # It pays: only the application's role may call it (functions are
        # executable by everyone unless revoked).
        op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")
        op.execute(
            "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ledger_app') "
            f"THEN GRANT EXECUTE ON FUNCTION {SIGNATURE} TO ledger_app; END IF; END $$"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
    with op.batch_alter_table("disbursement_allocations", schema=None) as batch_op:
        batch_op.drop_index("ix_disbursement_allocations_request_contribution")
