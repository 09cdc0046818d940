"""ledger_pay(): the token lookup, the role, the Idempotency-Key's claim and
``ledger_disburse()`` in one statement (PostgreSQL), for the payment's fast lane.

``ledger/disbursements/fast_lane.py`` sends it as a payment's first statement. It
returns one row when the token authenticates an active user who holds ``p_role``:
the user and roles (as ``auth.tokens`` reads them), the claimed key's id (NULL: the
key was taken) and what ``ledger_disburse()`` returned (NULL: it left the payment
to Python). No row: the token does not authenticate, or the user lacks the role,
and nothing was claimed. Whenever the fast lane does not finish the payment itself
it rolls the transaction back, claim included, and the request goes the usual
way, which answers it as before (401, 403, a replay, a refusal with evidence).

The claim waits for a concurrent request holding the same key at most ``p_wait``
(``lock_timeout`` for the insert only, as ``idempotency.services`` bounds it).

Revision ID: 2b7e4d9c1a36
Revises: 7f3a9c1d5e20
Create Date: 2026-11-25 16:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "2b7e4d9c1a36"
down_revision: str | None = "7f3a9c1d5e20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIGNATURE = (
    "ledger_pay(text, timestamptz, text, text, text, text, text, text, bigint, bigint, "
    "text, text, date, json, bigint, timestamptz)"
)

FUNCTION = """
CREATE FUNCTION ledger_pay(
    p_token_hash text,
    p_now timestamptz,
    p_role text,
    p_key text,
    p_method text,
    p_path text,
    p_request_hash text,
    p_wait text,
    p_request_id bigint,
    p_amount_minor bigint,
    p_currency text,
    p_reference text,
    p_paid_on date,
    p_screening json,
    p_list_id bigint,
    p_list_imported_at timestamptz,
    OUT out_user_id bigint,
    OUT out_name text,
    OUT out_institution text,
    OUT out_is_chair boolean,
    OUT out_active boolean,
    OUT out_created_at timestamptz,
    OUT out_roles text[],
    OUT out_key_id bigint,
    OUT out_disbursement text,
    OUT out_request_before text,
    OUT out_payee_digest text)
RETURNS SETOF record
LANGUAGE plpgsql AS $fn$
DECLARE
    v_kept text;
BEGIN
    SELECT u.id, u.name, u.institution, u.is_chair, u.active, u.created_at,
           array(SELECT r.role FROM user_roles AS r WHERE r.user_id = u.id ORDER BY r.role)
      INTO out_user_id, out_name, out_institution, out_is_chair, out_active,
           out_created_at, out_roles
      FROM api_tokens AS t JOIN users AS u ON u.id = t.user_id
     WHERE t.token_hash = p_token_hash AND t.revoked_at IS NULL
       AND (t.expires_at IS NULL OR t.expires_at > p_now) AND u.active;
    IF NOT FOUND OR NOT (p_role = ANY (out_roles)) THEN
        RETURN;
    END IF;
    v_kept := current_setting('lock_timeout');
    PERFORM set_config('lock_timeout', p_wait, true);
    INSERT INTO idempotency_keys (user_id, key, method, path, request_hash, created_at)
    VALUES (out_user_id, p_key, p_method, p_path, p_request_hash, p_now)
    ON CONFLICT (user_id, key) DO NOTHING
    RETURNING id INTO out_key_id;
    PERFORM set_config('lock_timeout', v_kept, true);
    IF out_key_id IS NOT NULL THEN
        SELECT d.disbursement, d.request_before, d.payee_digest
          INTO out_disbursement, out_request_before, out_payee_digest
          FROM ledger_disburse(out_user_id, p_request_id, p_amount_minor, p_currency,
                               p_reference, p_paid_on, p_now, p_screening, p_list_id,
                               p_list_imported_at) AS d;
    END IF;
    RETURN NEXT;
END;
$fn$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION)
        # It pays, as ledger_disburse() does: only the application's role may call it.
        op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")
        op.execute(
            "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ledger_app') "
            f"THEN GRANT EXECUTE ON FUNCTION {SIGNATURE} TO ledger_app; END IF; END $$"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
