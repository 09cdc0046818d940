"""Limits, each refused with a clear problem naming what was too large: the body,
the page, a string, the Idempotency-Key. Nothing changes when a limit is hit."""

from __future__ import annotations

import json

import pytest

from tests.factories import API
from tests.test_api_conventions import assert_problem, audit_head


def test_body_over_the_size_limit_is_refused_with_413(ledger, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    head = audit_head(ledger)
    body = json.dumps({"name": "x" * limit, "base_currency": "USD"})

    response = ledger.client.post(
        f"{API}/funds",
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {ledger.tokens['admin']}"},
    )

    problem = assert_problem(response, 413, "payload_too_large")
    assert "large" in problem["detail"].lower()
    assert audit_head(ledger) == head


def test_body_within_the_limit_is_read(ledger):
    response = ledger.raw("POST", "/funds", "admin", {"name": "x" * 1000, "base_currency": "USD"})

    # Read and validated (the name is too long for a fund), not refused for size.
    body = assert_problem(response, 422, "validation_error")
    assert "name" in body["errors"]


@pytest.mark.parametrize("limit", ["501", "0", "100000000000000000000"])
def test_page_size_over_the_limit_is_refused_naming_limit(ledger, limit):
    response = ledger.raw("GET", f"/payees?limit={limit}", "auditor")

    body = assert_problem(response, 422, "validation_error")
    assert list(body["errors"]) == ["limit"]


@pytest.mark.parametrize(
    ("path", "user", "body", "field", "max_length"),
    [
        ("/funds", "admin", {"base_currency": "USD"}, "name", 200),
        ("/donors", "clerk", {"kind": "government", "country": "QA"}, "name", 200),
        ("/payees", "clerk", {"kind": "organization", "country": "PS"}, "name", 300),
    ],
)
def test_string_over_its_length_is_refused_naming_field_and_rule(
    ledger, path, user, body, field, max_length
):
    head = audit_head(ledger)
    response = ledger.raw("POST", path, user, {**body, field: "y" * (max_length * 10)})

    problem = assert_problem(response, 422, "validation_error")
    assert field in problem["errors"]
    assert any("length" in m.lower() for m in problem["errors"][field])
    assert audit_head(ledger) == head


def test_idempotency_key_over_200_characters_is_refused(ledger):
    world = ledger.approved("1000.00")

    response = ledger.raw(
        "POST",
        "/disbursements",
        "treasurer",
        {
            "spending_request_id": world["request"]["id"],
            "amount": "10.00",
            "currency": "USD",
            "reference": "PAY-1",
        },
        key="k" * 201,
    )

    body = assert_problem(response, 400, "idempotency_key_required")
    assert "200" in body["detail"]
    assert ledger.get("/disbursements")["items"] == []
