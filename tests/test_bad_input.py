"""Bad input never yields a 500 (SPEC §3.10): each of these was answered 500 and is
now a 4xx problem naming the field and the rule, with nothing written."""

from __future__ import annotations

import uuid

from tests.batches.world import HEADER, csv_file, households, programme, submit
from tests.test_api_conventions import assert_problem, build_world

DEEP = "[" * 1000 + "]" * 1000


def post(ledger, path, role, text, key=None):  # type: ignore[no-untyped-def]
    headers = {
        "Authorization": f"Bearer {ledger.tokens[role]}",
        "Content-Type": "application/json",
        "Idempotency-Key": key or str(uuid.uuid4()),
    }
    return ledger.client.post(f"/api/v1{path}", data=text, headers=headers)


def test_json_nested_1000_deep_is_refused(ledger):
    world = ledger.approved("100.00")
    for path, role, body in (
        ("/payees", "clerk", '{"name": ' + DEEP + "}"),
        ("/disbursements", "treasurer", '{"spending_request_id": ' + DEEP + "}"),
    ):
        problem = assert_problem(post(ledger, path, role, body), 422, "validation_error")
        assert "nested deeper than" in problem["errors"]["body"][0]
    assert ledger.get(f"/disbursements?spending_request_id={world['request']['id']}")["items"] == []


def test_a_lone_surrogate_in_a_name_is_refused_naming_the_field(ledger):
    body = '{"name": "Al-Bina \\ud800 Company", "kind": "organization", "country": "PS"}'
    problem = assert_problem(post(ledger, "/payees", "clerk", body), 422, "validation_error")
    assert "surrogate" in problem["errors"]["name"][0]
    assert ledger.get("/payees")["items"] == []


def test_an_id_of_5000_digits_is_refused(ledger):
    ledger.approved("100.00")
    body = (
        '{"spending_request_id": ' + "9" * 5000 + ', "amount": "1.00", "currency": "USD", '
        '"reference": "PAY-1"}'
    )
    problem = assert_problem(
        post(ledger, "/disbursements", "treasurer", body), 422, "validation_error"
    )
    assert problem["errors"] == {
        "spending_request_id": ["An integer beyond the largest the ledger stores (2**63 - 1)."]
    }


def test_a_batch_csv_with_a_nul_byte_is_refused(ledger):
    world = programme(ledger)
    data = csv_file(households(3))
    data = data.replace(b"Household Member 000002", b"Household\x00Member 000002")
    problem = submit(ledger, world, data, expect=422)
    assert "NUL" in problem["errors"]["file"][0] and "line 3" in problem["errors"]["file"][0]
    assert ledger.get("/batches")["items"] == []


def test_a_batch_csv_naming_a_column_twice_is_refused(ledger):
    world = programme(ledger)
    data = "\n".join([HEADER + ",amount", *(line + ",999.00" for line in households(2))]) + "\n"
    problem = submit(ledger, world, data.encode(), expect=422)
    assert "twice: amount" in problem["errors"]["file"][0]


def test_a_batch_json_file_nested_100000_deep_is_refused(ledger):
    world = programme(ledger)
    data = ("[" * 100_000 + "]" * 100_000).encode()
    problem = submit(ledger, world, data, expect=422)
    assert "nested deeper than" in problem["errors"]["file"][0]


HUGE = '{"amount": "1.00", "spending_request_id": ' + "9" * 5000 + "}"


def test_every_operation_that_takes_a_body_refuses_the_deepest_and_the_largest(ledger):
    """The bounded cases of the fuzz run, on every operation that takes a body and
    on both databases: a body nested 1,000 deep and an integer of 5,000 digits are
    each a 4xx problem (422 naming the field when the body is read), never a 500,
    whoever of the callers let in sends them."""
    import re

    from tests.security.authz_matrix import MATRIX
    from tests.security.test_authorization_matrix import PATH_VALUES, ROLE_USERS

    build_world(ledger)
    document = ledger.client.get("/api/v1/openapi.json").get_json()
    takes_json = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method != "parameters"
        and "application/json" in operation.get("requestBody", {}).get("content", {})
    }
    wrong = []
    for (method, rule), allowed in sorted(MATRIX.items()):
        if (method, re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)) not in takes_json:
            continue
        role = next((r for r in ROLE_USERS if r in allowed), None)
        path = re.sub(
            r"<(?:\w+:)?(\w+)>", lambda m: PATH_VALUES.get(m.group(1), "1"), rule
        ).removeprefix("/api/v1")
        for label, text in (("deep", DEEP), ("huge", HUGE)):
            response = post_as(ledger, method, path, ROLE_USERS.get(role or ""), text)
            status = response.status_code
            body = response.get_json(silent=True) or {}
            named = status != 422 or set(body.get("errors", {})) & {"body", "spending_request_id"}
            if not (400 <= status < 500) or response.mimetype != "application/problem+json":
                wrong.append(f"{method} {path} {label}: {status} {response.mimetype}")
            elif not named:
                wrong.append(f"{method} {path} {label}: 422 naming {body.get('errors')}")
    assert len(takes_json) > 30
    assert wrong == [], "\n".join(wrong)


def post_as(ledger, method, path, user, text):  # type: ignore[no-untyped-def]
    headers = {"Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())}
    if user:
        headers["Authorization"] = f"Bearer {ledger.tokens[user]}"
    return ledger.client.open(f"/api/v1{path}", method=method, data=text, headers=headers)
