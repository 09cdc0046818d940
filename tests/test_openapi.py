"""The OpenAPI document is a contract other languages' tools can read: it passes
the official validator (openapi-spec-validator), and its string patterns mean in
ECMA-262 (JSON Schema's dialect) what they mean to the API."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import OpenAPIV30SpecValidator


@pytest.fixture
def document(client):  # type: ignore[no-untyped-def]
    return client.get("/api/v1/openapi.json").get_json()


def test_the_document_passes_the_official_validator(document):
    errors = [str(e).splitlines()[0] for e in OpenAPIV30SpecValidator(document).iter_errors()]
    assert errors == []


def patterns(node):  # type: ignore[no-untyped-def]
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            else:
                yield from patterns(value)
    elif isinstance(node, list):
        for item in node:
            yield from patterns(item)


def test_every_pattern_is_ecma_262(document):
    found = set(patterns(document))
    assert found  # names, references, amounts…
    for pattern in found:
        # Python-only syntax JSON Schema's validators do not know.
        assert not re.search(r"\\[AZz]|\(\?P<|\(\?[aiLmsux]", pattern), pattern
        assert pattern.startswith("^") and pattern.endswith("$"), pattern


def test_an_amount_with_a_trailing_newline_is_refused(ledger):
    world = ledger.approved("100.00")
    body = {
        "spending_request_id": world["request"]["id"],
        "amount": "10.00\n",
        "currency": "USD",
        "reference": "PAY-NL",
    }
    response = ledger.raw("POST", "/disbursements", "treasurer", body, key="nl-1")
    assert response.status_code == 422
    assert "amount" in response.get_json()["errors"]
