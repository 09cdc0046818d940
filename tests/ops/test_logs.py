"""Structured logs: JSON lines with the request id, and no token, password or bank
account number in them, whatever logged it."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from ledger.ops.logs import REDACTED, make_handler, redact
from tests.factories import API


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What the ledger's JSON handler writes, captured (root logger, level INFO)."""
    stream = io.StringIO()
    handler = make_handler("json", logging.StreamHandler(stream))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


def _records(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_each_request_is_logged_as_json_with_its_request_id(ledger, log_lines):
    response = ledger.client.get(
        f"{API}/funds",
        headers={
            "Authorization": f"Bearer {ledger.tokens['auditor']}",
            "X-Request-Id": "req-trace-42",
        },
    )

    access = [r for r in _records(log_lines) if r["logger"] == "ledger.access"]
    assert response.headers["X-Request-Id"] == "req-trace-42"
    assert len(access) == 1
    entry = access[0]
    assert entry["request_id"] == "req-trace-42"
    assert entry["method"] == "GET" and entry["path"] == f"{API}/funds"
    assert entry["status"] == 200
    assert entry["user_id"] == ledger.user_ids["auditor"]
    assert isinstance(entry["duration_ms"], float)
    assert entry["level"] == "INFO" and entry["ts"]


def test_tokens_never_reach_the_logs(ledger, log_lines):
    guessed = "ldg_" + "Q" * 43
    ledger.raw("GET", "/me", "clerk")
    ledger.client.get(f"{API}/me", headers={"Authorization": f"Bearer {guessed}"})
    created = ledger.call(
        "POST", "/users", "admin", {"name": "Amal Haddad", "roles": ["clerk"]}, expect=201
    )
    logging.getLogger("ledger.test").warning("client sent Authorization: Bearer %s", guessed)

    text = log_lines.getvalue()
    assert text  # something was logged
    for secret in (*ledger.tokens.values(), guessed, created["token"]):
        assert secret not in text


@pytest.mark.parametrize(
    ("message", "secret"),
    [
        ("Authorization: Bearer ldg_abcDEF123_-xyz", "ldg_abcDEF123_-xyz"),
        ("token=demo-admin-token&x=1", "demo-admin-token"),
        ('{"password": "hunter2"}', "hunter2"),
        ("connecting to postgresql://ledger:s3cr3t@db.internal/ledger", "s3cr3t"),
        ("payee IBAN PS92PALS000000000400123456702 refused", "PS92PALS000000000400123456702"),
        ('{"bank_account": "0401234567"}', "0401234567"),
        ("DETAIL:  Key (bank_account)=(0401234567) already exists.", "0401234567"),
    ],
)
def test_secrets_are_redacted_from_any_record(message, secret, log_lines):
    logging.getLogger("ledger.test").error(message)

    text = log_lines.getvalue()
    assert secret not in text
    assert REDACTED in text
    assert secret not in redact(message)


def test_an_error_is_logged_with_its_traceback_redacted(ledger, log_lines):
    ledger.app.logger.error("boom", exc_info=ValueError("with ldg_secretvalue inside"))

    record = _records(log_lines)[-1]
    assert record["message"] == "boom"
    assert "ValueError" in str(record["exc"])
    assert "ldg_secretvalue" not in log_lines.getvalue()


def test_a_database_error_names_its_statement_but_not_its_values(session):
    """An error's text (which an error log line carries, traceback and all) shows the
    SQL, never the values sent with it: a token's hash, a name, an account."""
    import sqlalchemy as sa

    secret = "0f1e2d3c4b5a69788796a5b4c3d2e1f0-secret-value"
    with pytest.raises(sa.exc.DBAPIError) as raised:
        session.execute(sa.text("SELECT * FROM no_such_table WHERE x = :x"), {"x": secret})
    session.rollback()
    assert "no_such_table" in str(raised.value)
    assert secret not in str(raised.value)
