"""ledger_pay() answers and audits the payment too: the fast lane's payment is one
statement in autocommit (PostgreSQL).

Until now the fast lane sent ``ledger_pay()`` in a transaction, built the two audit
events and the answer in Python from the rows it returned, and sent them back with
the chain step before COMMIT: four round trips and about 0.4 ms of Python a payment
(docs/benchmarks.md, "The payment as one statement"). Now the function does it all:

- ``ledger_json_time(timestamptz)``: a time as the audit trail writes it, Python's
  ``datetime.isoformat()`` in UTC (microseconds only when there are any);
- ``ledger_canonical_json(jsonb)``: a JSON value in the canonical text
  ``audit.services.event_hash`` hashes (``json.dumps(sort_keys=True,
  separators=(",", ":"), ensure_ascii=False)``): keys in code-point order, strings
  escaped as Python escapes them (PostgreSQL's JSON escaping is the same set: ``"``,
  ``\\``, ``\\b \\f \\n \\r \\t`` and ``\\u00xx`` for other control characters), and
  numbers only when they are integers: any other number raises ``LP001``, and the
  payment goes the usual way (Python's float formatting is not PostgreSQL's);
- ``ledger_disbursement_snapshot(jsonb, text)``: a disbursement as
  ``audit.services.snapshot`` keeps it, as canonical text, column by column in
  simple expressions (no query: a query per JSON object costs 20 to 40 µs); a
  column added to ``disbursements`` must be added to it;
- ``ledger_request_parts(jsonb)``, ``ledger_request_key(jsonb)`` and
  ``ledger_request_snapshot(text, text, bigint)``: a spending request's snapshot,
  rendered once (by ``ledger_canonical_json``) but for ``disbursed_minor``, which a
  payment moves, as the runs of keys before and after it, with the key of the row
  it was rendered from (an md5 of the row's JSON but ``disbursed_minor``); the lane
  hands the parts back for the request's next payments, and they are used while
  the row still has that key;
- ``ledger_pay()``, which now also stores the answer (the caller's text, a
  ``format()`` template the payment's id, fund and creator are filled into), writes
  both audit events chained (as ``audit.services.CHAIN_STEP`` does) and returns the
  answer. The payee is the caller's to name: the one the caller knows clear, with
  its digest; when the request's payee or its digest differ it raises ``LP002``
  and nothing is written. When ``ledger_disburse()`` leaves the payment to Python it
  raises ``LP001``, which rolls the key's claim back: the function either pays,
  answers and audits, or writes nothing.

``tests/audit/test_canonical_json_in_sql.py`` checks the text against Python's,
``tests/disbursements/test_fast_lane.py`` the events against the usual way's, and
``verify_chain`` every hash.

Revision ID: 8e6f1a2b3c47
Revises: 2b7e4d9c1a36
Create Date: 2026-11-25 18:00:00+00:00
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "8e6f1a2b3c47"
down_revision: str | None = "2b7e4d9c1a36"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PREVIOUS_SIGNATURE = (
    "ledger_pay(text, timestamptz, text, text, text, text, text, text, bigint, bigint, "
    "text, text, date, json, bigint, timestamptz)"
)
SIGNATURE = (
    "ledger_pay(text, timestamptz, text, text, text, text, text, text, bigint, bigint, "
    "text, text, date, json, bigint, timestamptz, bigint, text, text, text, text, text, text)"
)


# The snapshots' times as Python writes them: from to_jsonb()'s text of the row
# (PostgreSQL's own text drops trailing zeros of the microseconds).
def _time(row: str, name: str) -> str:
    return (
        f"coalesce(to_json(ledger_json_time(CAST({row}->>'{name}' AS timestamptz)))::text, 'null')"
    )


# A disbursement's columns in code-point order, and how each is written: as the
# JSON scalar to_jsonb() made of it (a string, an integer or null, already
# canonical), a time, or the screening's canonical text as the caller stored it.
_DISBURSEMENT = [
    ("amount_minor", None),
    ("base_amount_minor", None),
    ("created_at", "time"),
    ("created_by", None),
    ("currency", None),
    ("fund_id", None),
    ("fx_rate", None),
    ("id", None),
    ("paid_on", None),
    ("payee_id", None),
    ("reference", None),
    ("reversal_reason", None),
    ("reversed_at", "time"),
    ("screening", "screening"),
    ("spending_request_id", None),
]


def _disbursement_snapshot() -> str:
    parts = []
    for name, kind in _DISBURSEMENT:
        value = {None: f"(d->'{name}')::text", "time": _time("d", name), "screening": "screening"}
        parts.append(f"""'"{name}":' || {value[kind]}""")
    return "'{' || " + " || ',' || ".join(parts) + " || '}'"


HELPERS = [
    # PL/pgSQL, not SQL: a SQL function that is not inlined is planned again in
    # every transaction, where PL/pgSQL keeps its plans for the session.
    """
CREATE FUNCTION ledger_json_time(ts timestamptz) RETURNS text
LANGUAGE plpgsql STABLE STRICT AS $fn$
BEGIN
    RETURN to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
        || CASE WHEN date_trunc('second', ts) = ts THEN ''
                ELSE to_char(ts AT TIME ZONE 'UTC', '.US') END
        || '+00:00';
END;
$fn$
""",
    """
CREATE FUNCTION ledger_canonical_json(v jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $fn$
DECLARE
    out text;
BEGIN
    CASE jsonb_typeof(v)
    WHEN 'object' THEN
        SELECT '{' || coalesce(string_agg(
                   to_json(e.key)::text || ':' || ledger_canonical_json(e.value),
                   ',' ORDER BY e.key COLLATE "C"), '') || '}'
          INTO out FROM jsonb_each(v) AS e;
        RETURN out;
    WHEN 'array' THEN
        SELECT '[' || coalesce(string_agg(ledger_canonical_json(a.value), ',' ORDER BY a.n),
                               '') || ']'
          INTO out FROM jsonb_array_elements(v) WITH ORDINALITY AS a(value, n);
        RETURN out;
    WHEN 'number' THEN
        IF v::text !~ '^-?[0-9]+$' THEN
            RAISE EXCEPTION USING ERRCODE = 'LP001',
                MESSAGE = format('canonical JSON: %s is not an integer', v::text);
        END IF;
        RETURN v::text;
    ELSE
        RETURN v::text;
    END CASE;
END;
$fn$
""",
    f"""
CREATE FUNCTION ledger_disbursement_snapshot(d jsonb, screening text) RETURNS text
LANGUAGE plpgsql STABLE STRICT AS $fn$
BEGIN
    RETURN {_disbursement_snapshot()};
END;
$fn$
""",
    # A spending request's snapshot, but for disbursed_minor (which a payment
    # moves): the keys before it and after it, rendered; and the key they are
    # kept by (the row but for disbursed_minor), with which the caller hands them
    # back for the request's next payment, instead of their being rendered again.
    """
CREATE FUNCTION ledger_request_key(r jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $fn$
BEGIN
    RETURN md5((r - 'disbursed_minor')::text);
END;
$fn$
""",
    f"""
CREATE FUNCTION ledger_request_parts(r jsonb, OUT key text, OUT low text, OUT high text)
LANGUAGE plpgsql STABLE STRICT AS $fn$
BEGIN
    key := ledger_request_key(r);
    SELECT string_agg(pair, ',' ORDER BY name) FILTER (WHERE name < 'disbursed_minor'),
           string_agg(pair, ',' ORDER BY name) FILTER (WHERE name > 'disbursed_minor')
      INTO low, high
      FROM (SELECT e.key COLLATE "C" AS name,
                   to_json(e.key)::text || ':' || CASE e.key
                       WHEN 'created_at' THEN {_time("r", "created_at")}
                       WHEN 'decided_at' THEN {_time("r", "decided_at")}
                       WHEN 'expires_at' THEN {_time("r", "expires_at")}
                       ELSE ledger_canonical_json(e.value) END AS pair
              FROM jsonb_each(r - 'disbursed_minor') AS e) AS pairs;
END;
$fn$
""",
    """
CREATE FUNCTION ledger_request_snapshot(low text, high text, disbursed_minor bigint)
RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $fn$
BEGIN
    RETURN '{' || concat_ws(',', low, '"disbursed_minor":' || disbursed_minor, high) || '}';
END;
$fn$
""",
]
HELPER_SIGNATURES = [
    "ledger_request_snapshot(text, text, bigint)",
    "ledger_request_parts(jsonb)",
    "ledger_request_key(jsonb)",
    "ledger_disbursement_snapshot(jsonb, text)",
    "ledger_canonical_json(jsonb)",
    "ledger_json_time(timestamptz)",
]

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
    p_payee_id bigint,
    p_payee_digest text,
    p_trace_id text,
    p_answer text,
    p_request_key text,
    p_request_low text,
    p_request_high text,
    OUT out_user_id bigint,
    OUT out_name text,
    OUT out_institution text,
    OUT out_is_chair boolean,
    OUT out_active boolean,
    OUT out_created_at timestamptz,
    OUT out_roles text[],
    OUT out_key_id bigint,
    OUT out_answer text,
    OUT out_request_key text,
    OUT out_request_low text,
    OUT out_request_high text)
RETURNS SETOF record
LANGUAGE plpgsql AS $fn$
DECLARE
    v_kept text;
    v_set text;
    v_paid text;
    v_before text;
    v_digest text;
    v_disbursement jsonb;
    v_request jsonb;
    v_id bigint;
    v_seq bigint;
    v_hash text;
    v_tail text;
    v_canonical text;
    v_made text;
    v_low text;
    v_high text;
    v_request_before text;
    v_request_after text;
    v_hash_made text;
    v_hash_paid text;
BEGIN
    SELECT u.id, u.name, u.institution, u.is_chair, u.active, u.created_at,
           array(SELECT ur.role FROM user_roles AS ur WHERE ur.user_id = u.id ORDER BY ur.role)
      INTO out_user_id, out_name, out_institution, out_is_chair, out_active,
           out_created_at, out_roles
      FROM api_tokens AS t JOIN users AS u ON u.id = t.user_id
     WHERE t.token_hash = p_token_hash AND t.revoked_at IS NULL
       AND (t.expires_at IS NULL OR t.expires_at > p_now) AND u.active;
    IF NOT FOUND OR NOT (p_role = ANY (out_roles)) THEN
        RETURN;  -- nothing written: the usual way answers 401 or 403
    END IF;
    -- Assignments, not PERFORM: a simple expression is evaluated without a query.
    v_kept := current_setting('lock_timeout');
    v_set := set_config('lock_timeout', p_wait, true);
    INSERT INTO idempotency_keys (user_id, key, method, path, request_hash, created_at)
    VALUES (out_user_id, p_key, p_method, p_path, p_request_hash, p_now)
    ON CONFLICT (user_id, key) DO NOTHING
    RETURNING id INTO out_key_id;
    v_set := set_config('lock_timeout', v_kept, true);
    IF out_key_id IS NULL THEN
        RETURN NEXT;  -- the key was used: the usual way replays or refuses
        RETURN;
    END IF;

    SELECT pd.disbursement, pd.request_before, pd.payee_digest
      INTO v_paid, v_before, v_digest
      FROM ledger_disburse(out_user_id, p_request_id, p_amount_minor, p_currency,
                           p_reference, p_paid_on, p_now, p_screening, p_list_id,
                           p_list_imported_at) AS pd;
    IF v_paid IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP001',
            MESSAGE = 'ledger_disburse() left the payment to Python';
    END IF;
    v_disbursement := v_paid::jsonb;
    v_request := v_before::jsonb;
    IF (v_disbursement->>'payee_id')::bigint IS DISTINCT FROM p_payee_id
       OR v_digest IS DISTINCT FROM p_payee_digest THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002',
            MESSAGE = 'the payee is not the one the caller knows clear';
    END IF;
    v_id := (v_disbursement->>'id')::bigint;

    out_answer := format(p_answer, v_id, v_disbursement->>'fund_id', out_user_id);
    UPDATE idempotency_keys SET status_code = 201, response_body = out_answer
     WHERE id = out_key_id;

    -- The audit events, as audit.services.record queues them and CHAIN_STEP chains
    -- them: the disbursement made, then the request paid (as locked, and after).
    v_made := ledger_disbursement_snapshot(v_disbursement, p_screening::text);
    IF p_request_key IS NOT NULL AND ledger_request_key(v_request) = p_request_key THEN
        v_low := p_request_low;  -- as rendered for an earlier payment of the request
        v_high := p_request_high;
    ELSE
        SELECT k.key, k.low, k.high INTO out_request_key, v_low, v_high
          FROM ledger_request_parts(v_request) AS k;
        out_request_low := v_low;
        out_request_high := v_high;
    END IF;
    v_request_before := ledger_request_snapshot(
        v_low, v_high, (v_request->>'disbursed_minor')::bigint);
    v_request_after := ledger_request_snapshot(
        v_low, v_high, (v_request->>'disbursed_minor')::bigint + p_amount_minor);
    -- What follows prev_hash in every event's canonical text but its seq.
    v_tail := '","request_id":' || coalesce(to_json(p_trace_id)::text, 'null') || ',"seq":';

    SELECT seq, hash INTO v_seq, v_hash FROM audit_chain_head WHERE id = 1 FOR UPDATE;
    v_canonical := '{"action":"disbursement.made","actor_id":' || out_user_id
        || ',"actor_name":' || to_json(out_name)::text
        || ',"after":' || v_made || ',"before":' || 'null'
        || ',"entity_id":' || to_json(v_id::text)::text
        || ',"entity_type":"disbursements","occurred_at":' || to_json(ledger_json_time(p_now))::text
        || ',"prev_hash":"' || v_hash || v_tail || (v_seq + 1) || '}';
    v_hash_made := encode(sha256(convert_to(v_canonical, 'UTF8')), 'hex');
    v_canonical := '{"action":"spending_request.disbursed","actor_id":' || out_user_id
        || ',"actor_name":' || to_json(out_name)::text
        || ',"after":' || v_request_after || ',"before":' || v_request_before
        || ',"entity_id":' || to_json(v_request->>'id')::text
        || ',"entity_type":"spending_requests","occurred_at":'
        || to_json(ledger_json_time(p_now))::text
        || ',"prev_hash":"' || v_hash_made || v_tail || (v_seq + 2) || '}';
    v_hash_paid := encode(sha256(convert_to(v_canonical, 'UTF8')), 'hex');
    INSERT INTO audit_events (seq, occurred_at, actor_id, actor_name, action, entity_type,
                              entity_id, request_id, before, after, prev_hash, hash)
    VALUES
        (v_seq + 1, p_now, out_user_id, out_name, 'disbursement.made', 'disbursements',
         v_id::text, p_trace_id, 'null', v_made::json, v_hash, v_hash_made),
        (v_seq + 2, p_now, out_user_id, out_name, 'spending_request.disbursed',
         'spending_requests', v_request->>'id', p_trace_id, v_request_before::json,
         v_request_after::json, v_hash_made, v_hash_paid);
    UPDATE audit_chain_head SET seq = v_seq + 2, hash = v_hash_paid WHERE id = 1;
    RETURN NEXT;
END;
$fn$
"""


def _grant(signature: str) -> None:
    # It pays, as ledger_disburse() does: only the application's role may call it.
    op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
    op.execute(
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ledger_app') "
        f"THEN GRANT EXECUTE ON FUNCTION {signature} TO ledger_app; END IF; END $$"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP FUNCTION {PREVIOUS_SIGNATURE}")
    for helper in HELPERS:
        op.execute(helper)
    op.execute(FUNCTION)
    _grant(SIGNATURE)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # The function as it was: its text lives in the revision that created it.
    path = Path(__file__).with_name("20261125_1600_pay_in_one_statement.py")
    spec = importlib.util.spec_from_file_location("pay_in_one_statement", path)
    assert spec is not None and spec.loader is not None
    previous = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(previous)
    op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
    for signature in HELPER_SIGNATURES:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    op.execute(previous.FUNCTION)
    _grant(PREVIOUS_SIGNATURE)
