"""The issue's yardstick for (a): a bare Flask endpoint doing a minimal version of a
payment (one row lock, three inserts; no authentication, no validation, no
idempotency, no screening, no audit trail), served by the same gunicorn as the
ledger, on psycopg without an ORM. ``run.py`` creates its tables and drives it
with ``bare.lua``; it is not part of the product.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import psycopg
from flask import Flask, jsonify, request

SCHEMA = """
CREATE TABLE bare_accounts (id bigint PRIMARY KEY, balance bigint NOT NULL);
INSERT INTO bare_accounts SELECT g, 1000000000000 FROM generate_series(1, 64) AS g;
CREATE TABLE bare_transfers (
    id bigserial PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES bare_accounts,
    amount bigint NOT NULL,
    reference text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE bare_lines (
    id bigserial PRIMARY KEY,
    transfer_id bigint NOT NULL REFERENCES bare_transfers,
    account text NOT NULL,
    amount bigint NOT NULL);
"""

app = Flask(__name__)
_local = threading.local()


def connection() -> psycopg.Connection[Any]:
    conn: psycopg.Connection[Any] | None = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = _local.conn = psycopg.connect(os.environ["BARE_DSN"])
    return conn


@app.get("/healthz")
def healthz() -> Any:
    return {"status": "ok"}


@app.post("/transfer")
def transfer() -> Any:
    body = request.get_json()
    account, amount = body["account"], body["amount"]
    conn = connection()
    with conn.transaction():
        cur = conn.cursor()
        cur.execute("SELECT balance FROM bare_accounts WHERE id = %s FOR UPDATE", (account,))
        cur.execute(
            "INSERT INTO bare_transfers (account_id, amount, reference) VALUES (%s, %s, %s) "
            "RETURNING id",
            (account, amount, body["reference"]),
        )
        row = cur.fetchone()
        assert row is not None
        cur.execute(
            "INSERT INTO bare_lines (transfer_id, account, amount) "
            "VALUES (%s, 'cash', %s), (%s, 'payable', %s)",
            (row[0], -amount, row[0], amount),
        )
        cur.execute(
            "UPDATE bare_accounts SET balance = balance - %s WHERE id = %s", (amount, account)
        )
    return jsonify({"id": row[0]}), 201
