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
    refused = ledger.disburse(world["request"]["id"], "10.00\n", expect=422)
    assert "amount" in refused["errors"]


def conforms(document, path, body):  # type: ignore[no-untyped-def]
    """``body`` is valid against the JSON schema the document gives ``path``'s 200."""
    from openapi_schema_validator import OAS30Validator

    operation = document["paths"][f"/api/v1{path}"]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    root = {**schema, "components": document["components"]}
    errors = [e.message for e in OAS30Validator(root).iter_errors(body)]
    assert errors == [], (path, errors[:3])


def test_reports_answer_the_shapes_the_document_gives_them(document, ledger):
    world = ledger.approved("100.00")
    ledger.disburse(world["request"]["id"], "10.00")
    fund, donor = world["fund"]["id"], world["donor"]["id"]
    generic = document["paths"]["/api/v1/reports/{name}"]["get"]["parameters"]
    names = next(p for p in generic if p["in"] == "path")["schema"]["enum"]
    assert "trial-balance" not in names and "payee-ledger" in names
    for name in names:
        conforms(document, "/reports/{name}", ledger.get(f"/reports/{name}?fund_id={fund}"))
    for query in (f"donor_id={donor}", f"fund_id={fund}"):  # one donor; the table
        conforms(document, "/reports/donor-trace", ledger.get(f"/reports/donor-trace?{query}"))
    conforms(
        document, "/reports/trial-balance", ledger.get(f"/reports/trial-balance?fund_id={fund}")
    )


BIGINT = 2**63 - 1


def integer_inputs(document):  # type: ignore[no-untyped-def]
    """Every integer a request may carry (path, query, body, at any depth), as
    ``(operation, where, schema)``, with references resolved."""
    components = document["components"]["schemas"]

    def walk(schema, where, seen):  # type: ignore[no-untyped-def]
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name in seen:
                return
            seen, schema = seen | {name}, components[name]
        for part in schema.get("allOf", []) + schema.get("oneOf", []) + schema.get("anyOf", []):
            yield from walk(part, where, seen)
        kind = schema.get("type")
        if kind == "integer" or (isinstance(kind, list) and "integer" in kind):
            yield where, schema
        for name, sub in schema.get("properties", {}).items():
            yield from walk(sub, f"{where}.{name}", seen)
        if isinstance(schema.get("items"), dict):
            yield from walk(schema["items"], f"{where}[]", seen)

    for path, item in document["paths"].items():
        shared = item.get("parameters", [])
        for method, operation in item.items():
            if method == "parameters":
                continue
            label = f"{method.upper()} {path}"
            for parameter in shared + operation.get("parameters", []):
                where = f"{parameter['in']} {parameter['name']}"
                yield from ((label, *found) for found in walk(parameter["schema"], where, set()))
            for media in operation.get("requestBody", {}).get("content", {}).values():
                yield from ((label, *found) for found in walk(media["schema"], "body", set()))


def test_every_integer_a_request_takes_is_bounded_as_a_bigint(document):
    """An integer beyond the columns' range is refused by validation, naming its
    field, before the database is asked (issue 22): each one the document lists
    declares a maximum a BIGINT holds. Path ids beyond it are 404s (no row has one)."""
    found = list(integer_inputs(document))
    assert len(found) > 20
    unbounded = [
        (operation, where)
        for operation, where, schema in found
        if not where.startswith("path ") and not (schema.get("maximum", BIGINT + 1) <= BIGINT)
    ]
    assert unbounded == []
