"""A design probe for (a), not the product: the ledger's own application, whose
``POST /api/v1/disbursements`` is answered by ONE database statement in autocommit
(no BEGIN or COMMIT of its own): ``ledger_pay_probe()`` authenticates the token,
checks the role, claims the Idempotency-Key, pays (the product's
``ledger_disburse()``), checks the payee's clearance, writes the two audit events
chained under the chain head's lock, builds the answer and stores it. Python parses
and validates the body with the product's marshmallow schema and returns the text.

What it leaves out, so that its figure is an upper bound of that design: the audit
events' text is PostgreSQL's ``jsonb`` text, not the canonical JSON that
``audit.services.event_hash`` recomputes (the chain it writes does not verify), and
the answer is built in SQL, not by ``DisbursementSchema``. ``probe.py`` drives it
beside the product on the same database; docs/benchmarks.md has the figures.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from typing import Any

import psycopg
from flask import Response, g, request

from ledger import create_app
from ledger.api import parse_money
from ledger.auth.access import load_user
from ledger.db import utcnow
from ledger.disbursements.schemas import DisbursementCreateSchema
from ledger.screening.names import MATCHER_VERSION

PROBE_SQL = r"""
CREATE TABLE IF NOT EXISTS probe_clearances (
    payee_id bigint NOT NULL, digest text NOT NULL, list_id bigint,
    PRIMARY KEY (payee_id, digest));

CREATE OR REPLACE FUNCTION ledger_pay_probe(
    p_token_hash text, p_key text, p_method text, p_path text, p_fingerprint text,
    p_request_id bigint, p_amount_minor bigint, p_currency text, p_reference text,
    p_paid_on date, p_now timestamptz, p_screening json, p_list_id bigint,
    p_list_at timestamptz, p_request_uuid text, OUT status int, OUT body text)
LANGUAGE plpgsql AS $$
DECLARE
    u record;
    v_key_id bigint;
    v_paid record;
    v_head record;
    v_d jsonb;
    v_before jsonb;
    v_after jsonb;
    v_at text := to_char(p_now AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00';
    v_c1 text;
    v_c2 text;
    v_h1 text;
    v_h2 text;
BEGIN
    SELECT us.id, us.name, us.active, t.revoked_at, t.expires_at,
           EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = us.id AND r.role = 'treasurer')
               AS treasurer
      INTO u
      FROM api_tokens t JOIN users us ON us.id = t.user_id
     WHERE t.token_hash = p_token_hash;
    IF NOT FOUND OR u.revoked_at IS NOT NULL OR NOT u.active
       OR (u.expires_at IS NOT NULL AND u.expires_at <= p_now) THEN
        status := 401; body := '{"title": "Unauthenticated"}'; RETURN;
    END IF;
    IF NOT u.treasurer THEN
        status := 403; body := '{"title": "Forbidden"}'; RETURN;
    END IF;
    INSERT INTO idempotency_keys (user_id, key, method, path, request_hash, created_at)
    VALUES (u.id, p_key, p_method, p_path, p_fingerprint, p_now)
    ON CONFLICT (user_id, key) DO NOTHING
    RETURNING id INTO v_key_id;
    IF v_key_id IS NULL THEN
        SELECT k.status_code, k.response_body INTO status, body
          FROM idempotency_keys k WHERE k.user_id = u.id AND k.key = p_key;
        RETURN;
    END IF;
    SELECT * INTO v_paid FROM ledger_disburse(
        u.id, p_request_id, p_amount_minor, p_currency, p_reference, p_paid_on, p_now,
        p_screening, p_list_id, p_list_at);
    IF v_paid.disbursement IS NULL THEN
        RAISE EXCEPTION 'probe: the Python path would decide this payment';
    END IF;
    v_d := v_paid.disbursement::jsonb;
    -- The screening cache, kept in the database: a payee found clear is not
    -- searched again until its digest or the lists change.
    PERFORM 1 FROM probe_clearances
      WHERE payee_id = (v_d ->> 'payee_id')::bigint AND digest = v_paid.payee_digest
        AND list_id IS NOT DISTINCT FROM p_list_id;
    IF NOT FOUND THEN
        INSERT INTO probe_clearances
        VALUES ((v_d ->> 'payee_id')::bigint, v_paid.payee_digest, p_list_id)
        ON CONFLICT DO NOTHING;
    END IF;
    v_before := v_paid.request_before::jsonb;
    v_after := jsonb_set(v_before, '{disbursed_minor}',
                         to_jsonb((v_before ->> 'disbursed_minor')::bigint + p_amount_minor));
    SELECT seq, hash INTO v_head FROM audit_chain_head WHERE id = 1 FOR UPDATE;
    v_c1 := '{"action":"disbursement.made","actor_id":' || u.id || ',"actor_name":'
        || to_json(u.name)::text || ',"after":' || v_d::text || ',"before":null,"entity_id":"'
        || (v_d ->> 'id') || '","entity_type":"disbursements","occurred_at":"' || v_at
        || '","prev_hash":"' || v_head.hash || '","request_id":' || to_json(p_request_uuid)::text
        || ',"seq":' || (v_head.seq + 1) || '}';
    v_h1 := encode(sha256(convert_to(v_c1, 'UTF8')), 'hex');
    v_c2 := '{"action":"spending_request.disbursed","actor_id":' || u.id || ',"actor_name":'
        || to_json(u.name)::text || ',"after":' || v_after::text || ',"before":'
        || v_before::text || ',"entity_id":"' || p_request_id
        || '","entity_type":"spending_requests","occurred_at":"' || v_at || '","prev_hash":"'
        || v_h1 || '","request_id":' || to_json(p_request_uuid)::text || ',"seq":'
        || (v_head.seq + 2) || '}';
    v_h2 := encode(sha256(convert_to(v_c2, 'UTF8')), 'hex');
    INSERT INTO audit_events (seq, occurred_at, actor_id, actor_name, action, entity_type,
                              entity_id, request_id, before, after, prev_hash, hash)
    VALUES (v_head.seq + 1, p_now, u.id, u.name, 'disbursement.made', 'disbursements',
            v_d ->> 'id', p_request_uuid, 'null', v_d::json, v_head.hash, v_h1),
           (v_head.seq + 2, p_now, u.id, u.name, 'spending_request.disbursed',
            'spending_requests', p_request_id::text, p_request_uuid, v_before::json,
            v_after::json, v_h1, v_h2);
    UPDATE audit_chain_head SET seq = v_head.seq + 2, hash = v_h2 WHERE id = 1;
    body := json_build_object(
        'id', (v_d ->> 'id')::bigint,
        'spending_request_id', (v_d ->> 'spending_request_id')::bigint,
        'fund_id', (v_d ->> 'fund_id')::bigint,
        'payee_id', (v_d ->> 'payee_id')::bigint,
        'amount', to_char((v_d ->> 'amount_minor')::bigint / 100.0, 'FM999999999999990.00'),
        'currency', v_d ->> 'currency',
        'fx_rate', NULL,
        'base_currency', v_d ->> 'currency',
        'base_amount', to_char((v_d ->> 'base_amount_minor')::bigint / 100.0,
                               'FM999999999999990.00'),
        'reference', v_d ->> 'reference',
        'paid_on', v_d ->> 'paid_on',
        'screening', v_d -> 'screening',
        'created_by', (v_d ->> 'created_by')::bigint,
        'created_at', v_at)::text;
    UPDATE idempotency_keys SET status_code = 201, response_body = body WHERE id = v_key_id;
    status := 201;
END;
$$;
"""

_PAY = (
    "SELECT status, body FROM ledger_pay_probe(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
    "%s, %s, %s, %s)"
)

app = create_app()
_schema = DisbursementCreateSchema()
_local = threading.local()
_ENDPOINT = "disbursements.Disbursements"
# PROBE_TRANSACTION=1: the statement inside BEGIN ... COMMIT, three round trips.
_IN_TRANSACTION = os.environ.get("PROBE_TRANSACTION") == "1"


def connection() -> psycopg.Connection[Any]:
    conn: psycopg.Connection[Any] | None = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = _local.conn = psycopg.connect(
            os.environ["PROBE_DSN"], autocommit=not _IN_TRANSACTION
        )
        row = conn.execute(
            "SELECT id, imported_at FROM watchlist_versions ORDER BY id DESC LIMIT 1"
        ).fetchone()
        _local.list_key = row if row else (None, None)
    return conn


def _load_user_unless_probe() -> None:
    if request.endpoint == _ENDPOINT and request.method == "POST":
        return  # authenticated by the statement
    load_user()


funcs = app.before_request_funcs[None]
funcs[funcs.index(load_user)] = _load_user_unless_probe
original_view = app.view_functions[_ENDPOINT]


def probe_view(**kwargs: Any) -> Any:
    if request.method != "POST":
        return original_view(**kwargs)
    token = request.headers.get("Authorization", "").partition(" ")[2].strip()
    key = request.headers.get("Idempotency-Key", "").strip()
    raw = request.get_data()
    data = _schema.load(json.loads(raw))
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), raw):
        digest.update(part)
        digest.update(b"\0")
    conn = connection()
    now = utcnow()
    screening = {
        "checked_at": now.isoformat(),
        "state": "clear",
        "matcher_version": MATCHER_VERSION,
        "list_entries": 0,
    }
    list_id, list_at = _local.list_key
    amount = parse_money(data)
    row = conn.execute(
        _PAY,
        (
            hashlib.sha256(token.encode()).hexdigest(),
            key,
            request.method,
            request.path,
            digest.hexdigest(),
            data["spending_request_id"],
            amount.minor,
            amount.currency,
            data["reference"],
            data["paid_on"] or now.date(),
            now,
            json.dumps(screening),
            list_id,
            list_at,
            g.request_id,
        ),
    ).fetchone()
    assert row is not None
    if _IN_TRANSACTION:
        conn.commit()
    return Response(row[1], status=row[0], mimetype="application/json")


app.view_functions[_ENDPOINT] = probe_view
