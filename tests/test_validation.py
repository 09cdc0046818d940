"""Invariants 2 and 10: money is exact, and bad input never yields a 500.

Every refusal here is a 422 ``validation_error`` whose ``errors`` name the field,
and it changes nothing: no audit event, no journal entry, no new row.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_api_conventions import CORE_POSTS, assert_problem, build_world


def state(ledger: Any, collection: str) -> tuple[int, int, list[int]]:
    """What a refused request must leave alone: the audit trail, the journal, and
    the collection it tried to add to."""
    audit = ledger.get("/audit-events/verify")["head_seq"]
    journal = len(ledger.get("/journal/entries?limit=500")["items"])
    rows = [item["id"] for item in ledger.get(f"{collection}?limit=500")["items"]]
    return audit, journal, rows


def assert_refused(
    ledger: Any,
    path: str,
    user: str,
    body: Any,
    field: str,
    *,
    collection: str | None = None,
) -> dict[str, Any]:
    """POST ``body``; expect a 422 naming ``field`` and no change at all."""
    collection = collection or path
    before = state(ledger, collection)
    response = ledger.raw("POST", path, user, body, key=str(uuid.uuid4()))
    assert response.status_code == 422, f"POST {path} {body!r}: {response.get_data(as_text=True)}"
    problem = assert_problem(response, 422, "validation_error")
    assert field in problem["errors"], f"POST {path} {body!r}: {problem['errors']}"
    assert all(problem["errors"][field]), "each field names at least one rule"
    assert state(ledger, collection) == before, f"POST {path} {body!r} changed something"
    return problem


@pytest.fixture
def world(ledger: Any) -> dict[str, Any]:
    return build_world(ledger)


# The four bodies that carry money, built from the world.
def pledge_body(w: dict[str, Any], **change: Any) -> dict[str, Any]:
    body = {
        "fund_id": w["fund"]["id"],
        "donor_id": w["donor"]["id"],
        "amount": "5000.00",
        "currency": "USD",
        "pledged_on": "2021-06-01",
    }
    return body | change


def contribution_body(w: dict[str, Any], **change: Any) -> dict[str, Any]:
    body = {
        "amount": "10.00",
        "currency": "USD",
        "received_on": "2021-06-20",
        "reference": "BANK-42",
        "over_contribution": True,
    }
    return body | change


def request_body(w: dict[str, Any], **change: Any) -> dict[str, Any]:
    body = {
        "fund_id": w["fund"]["id"],
        "project_id": w["project"]["id"],
        "payee_id": w["payee"]["id"],
        "amount": "500.00",
        "currency": "USD",
        "purpose": "Roof repairs",
    }
    return body | change


def disbursement_body(w: dict[str, Any], **change: Any) -> dict[str, Any]:
    body = {
        "spending_request_id": w["request"]["id"],
        "amount": "250.00",
        "currency": "USD",
        "reference": "PAY-42",
    }
    return body | change


MONEY_POSTS = [
    ("pledges", "clerk", pledge_body),
    ("contributions", "treasurer", contribution_body),
    ("spending-requests", "clerk", request_body),
    ("disbursements", "treasurer", disbursement_body),
]


def money_path(name: str, w: dict[str, Any]) -> tuple[str, str]:
    """The path to POST to, and the list that would grow."""
    if name == "contributions":
        path = f"/pledges/{w['pledge']['id']}/contributions"
        return path, path
    return f"/{name}", f"/{name}"


# ---------------------------------------------------------------- money is exact


@pytest.mark.parametrize(("name", "user", "body"), MONEY_POSTS, ids=[m[0] for m in MONEY_POSTS])
def test_amount_as_a_json_number_is_refused(ledger, world, name, user, body):
    path, collection = money_path(name, world)

    for amount in (100, 100.5, 0.1, 1e3):
        assert_refused(
            ledger, path, user, body(world, amount=amount), "amount", collection=collection
        )


@pytest.mark.parametrize(("name", "user", "body"), MONEY_POSTS, ids=[m[0] for m in MONEY_POSTS])
def test_amount_with_more_decimals_than_the_currency_has_is_refused_everywhere(
    ledger, world, name, user, body
):
    path, collection = money_path(name, world)

    problem = assert_refused(
        ledger, path, user, body(world, amount="1.001"), "amount", collection=collection
    )
    assert "USD" in problem["errors"]["amount"][0]


def fund_in(ledger: Any, currency: str) -> dict[str, Any]:
    fund = ledger.fund(f"Fund kept in {currency}", currency)
    donor = ledger.donor(f"Donor giving {currency}")
    return {"fund": fund, "donor": donor}


@pytest.mark.parametrize(
    ("currency", "amount"),
    [("USD", "1.001"), ("JPY", "1.5"), ("KWD", "1.0005"), ("JPY", "100.0")],
)
def test_amount_with_more_decimals_than_currency_is_refused(ledger, currency, amount):
    w = fund_in(ledger, currency)

    assert_refused(
        ledger, "/pledges", "clerk", pledge_body(w, amount=amount, currency=currency), "amount"
    )


@pytest.mark.parametrize(
    ("currency", "amount", "shown"),
    [
        ("USD", "1.25", "1.25"),
        ("USD", "7", "7.00"),
        ("JPY", "100", "100"),
        ("KWD", "1.005", "1.005"),
        ("KWD", "2.5", "2.500"),
    ],
)
def test_amount_with_at_most_the_currencys_decimals_is_accepted_exactly(
    ledger, currency, amount, shown
):
    w = fund_in(ledger, currency)

    pledge = ledger.pledge(w["fund"]["id"], w["donor"]["id"], amount, currency)

    assert pledge["amount"] == shown
    assert pledge["currency"] == currency
    assert ledger.get(f"/pledges/{pledge['id']}")["amount"] == shown


def test_amounts_add_up_to_the_cent_where_floats_would_not(ledger):
    w = fund_in(ledger, "USD")
    pledge = ledger.pledge(w["fund"]["id"], w["donor"]["id"], "0.30")

    for _ in range(3):
        ledger.contribute(pledge["id"], "0.10")

    assert ledger.get(f"/pledges/{pledge['id']}")["outstanding"] == "0.00"
    assert ledger.trial_balance(w["fund"]["id"])["balanced"] is True


@pytest.mark.parametrize(("name", "user", "body"), MONEY_POSTS, ids=[m[0] for m in MONEY_POSTS])
def test_negative_or_zero_amount_is_refused(ledger, world, name, user, body):
    path, collection = money_path(name, world)

    for amount in ("-5.00", "0", "0.00", "-0.01", "000"):
        assert_refused(
            ledger, path, user, body(world, amount=amount), "amount", collection=collection
        )


NOT_DECIMAL_STRINGS = [
    "1,000.00",
    "1e3",
    "1.2.3",
    "",
    " ",
    " 1.00",
    "1.00 ",
    ".5",
    "1.",
    "+1.00",
    "0x10",
    "NaN",
    "Infinity",
    "1 000",
    "$5",
    "1000000000000000.00",
    None,
    True,
    ["1.00"],
    {"value": "1.00"},
]


def test_amount_not_written_as_a_plain_decimal_string_is_refused(ledger, world):
    for amount in NOT_DECIMAL_STRINGS:
        assert_refused(ledger, "/pledges", "clerk", pledge_body(world, amount=amount), "amount")


@pytest.mark.parametrize(
    "amount",
    ["\u0661\u0662\u0663.\u0664\u0665", "\uff11\uff12\uff13", "1.00\n"],
    ids=["arabic-indic-digits", "fullwidth-digits", "trailing-newline"],
)
def test_amount_in_non_ascii_digits_or_with_a_trailing_newline_is_refused(ledger, world, amount):
    # "١٢٣.٤٥" is 123.45 to Python's \d and Decimal, but not a decimal string
    # any bank file or spreadsheet on the other side would read the same way.
    assert_refused(ledger, "/pledges", "clerk", pledge_body(world, amount=amount), "amount")


def test_amount_too_large_once_converted_to_the_base_currency_is_refused(ledger):
    w = fund_in(ledger, "USD")
    body = pledge_body(w, amount="999999999999999", currency="JPY", fx_rate="999999999.9")

    before = state(ledger, "/pledges")
    response = ledger.raw("POST", "/pledges", "clerk", body)

    problem = assert_problem(response, 422, "validation_error")
    assert {"amount", "fx_rate"} & set(problem["errors"])
    assert state(ledger, "/pledges") == before


# ---------------------------------------------------------------- currencies, countries, dates


BAD_CURRENCIES = ["XYZ", "usd", "Usd", "US", "USDD", "XAU", "XXX", "", " USD", 840, None]


def test_unknown_or_lower_case_currency_is_refused(ledger, world):
    for currency in BAD_CURRENCIES:
        body = pledge_body(world, currency=currency)
        assert_refused(ledger, "/pledges", "clerk", body, "currency")
        fund = {"name": "A fund", "base_currency": currency}
        assert_refused(ledger, "/funds", "admin", fund, "base_currency")


BAD_COUNTRIES = ["eg", "XX", "EGY", "", "E1", "UK", " EG", 20, None]


def test_country_that_is_not_iso_3166_alpha_2_is_refused(ledger):
    for country in BAD_COUNTRIES:
        donor = {"name": "D", "kind": "ngo", "country": country}
        assert_refused(ledger, "/donors", "clerk", donor, "country")
        payee = {"name": "P", "kind": "organization", "country": country}
        assert_refused(ledger, "/payees", "clerk", payee, "country")


INVALID_DATES = [
    "2021-02-30",
    "2021-13-01",
    "26/05/2021",
    "May 26, 2021",
    "yesterday",
    "",
    20210526,
]


def test_invalid_or_missing_value_date_is_refused(ledger, world):
    path, _ = money_path("contributions", world)
    for date in [*INVALID_DATES, None]:
        pledge = pledge_body(world, pledged_on=date)
        assert_refused(ledger, "/pledges", "clerk", pledge, "pledged_on")
        contribution = contribution_body(world, received_on=date)
        assert_refused(ledger, path, "treasurer", contribution, "received_on")


def test_invalid_optional_date_is_refused(ledger, world):
    for date in INVALID_DATES:
        disbursement = disbursement_body(world, paid_on=date)
        assert_refused(ledger, "/disbursements", "treasurer", disbursement, "paid_on")
        payee = {"name": "P", "kind": "individual", "country": "PS", "birth_date": date}
        assert_refused(ledger, "/payees", "clerk", payee, "birth_date")


# ---------------------------------------------------------------- shapes and sizes


# The list each core POST adds to (or changes a row of), named as CORE_POSTS names it.
COLLECTION_OF = {
    "restrictions": "/restrictions",
    "lift": "/restrictions",
    "contributions": "/contributions",
    "votes": "/spending-requests",
}


@pytest.mark.parametrize(("name", "user", "build"), CORE_POSTS, ids=[c[0] for c in CORE_POSTS])
def test_unknown_body_field_is_refused_naming_it(ledger, world, name, user, build):
    path, body = build(world)
    collection = COLLECTION_OF.get(name, path)

    assert_refused(
        ledger,
        path,
        user,
        body | {"approved_by_chair": True},
        "approved_by_chair",
        collection=collection,
    )


@pytest.mark.parametrize(("name", "user", "build"), CORE_POSTS, ids=[c[0] for c in CORE_POSTS])
def test_missing_required_field_is_refused_naming_it(ledger, world, name, user, build):
    path, body = build(world)
    collection = COLLECTION_OF.get(name, path)
    field = next(iter(body))

    problem = assert_refused(
        ledger,
        path,
        user,
        {k: v for k, v in body.items() if k != field},
        field,
        collection=collection,
    )
    assert problem["errors"][field] == ["Missing data for required field."]


@pytest.mark.parametrize(
    ("path_of", "user", "body", "field"),
    [
        ("/funds", "admin", {"name": "x" * 201, "base_currency": "USD"}, "name"),
        ("/funds", "admin", {"name": "   ", "base_currency": "USD"}, "name"),
        ("/funds", "admin", {"name": "", "base_currency": "USD"}, "name"),
        ("/donors", "clerk", {"name": "\t\n", "kind": "ngo", "country": "EG"}, "name"),
        ("/payees", "clerk", {"name": "p" * 301, "kind": "individual", "country": "PS"}, "name"),
        (
            "/payees",
            "clerk",
            {"name": "P", "kind": "individual", "country": "PS", "aliases": ["ok", " "]},
            "aliases.1",
        ),
        (
            "/payees",
            "clerk",
            {
                "name": "P",
                "kind": "organization",
                "country": "PS",
                "identifiers": [{"type": "registration", "value": ""}],
            },
            "identifiers.0.value",
        ),
        (
            "/payees",
            "clerk",
            {
                "name": "P",
                "kind": "organization",
                "country": "PS",
                "related_parties": [{"name": "Owner", "kind": "alien", "role": "owner"}],
            },
            "related_parties.0.kind",
        ),
        ("/payees/{payee}/restrictions", "compliance", {"reason": "r" * 2001}, "reason"),
        ("/payees/{payee}/restrictions", "compliance", {"reason": " "}, "reason"),
        (
            "/spending-requests/{pending}/votes",
            "member-un",
            {"decision": "approve", "comment": ""},
            "comment",
        ),
        (
            "/spending-requests/{pending}/votes",
            "member-un",
            {"decision": "yes", "comment": "Fine"},
            "decision",
        ),
    ],
)
def test_string_too_long_blank_or_not_allowed_is_refused(ledger, world, path_of, user, body, field):
    path = path_of.format(payee=world["payee"]["id"], pending=world["pending"]["id"])
    collection = path
    if path.startswith("/payees/"):
        collection = "/restrictions"
    elif path.startswith("/spending-requests/"):
        collection = "/spending-requests"

    assert_refused(ledger, path, user, body, field, collection=collection)


def test_contribution_reference_too_long_is_refused(ledger, world):
    path, _ = money_path("contributions", world)

    assert_refused(
        ledger, path, "treasurer", contribution_body(world, reference="R" * 101), "reference"
    )


def test_id_that_is_not_a_positive_integer_is_refused(ledger, world):
    for value in ("one", 0, -3, None, [1], {"id": 1}):
        assert_refused(ledger, "/pledges", "clerk", pledge_body(world, fund_id=value), "fund_id")


@pytest.mark.parametrize(
    ("field", "value"),
    [("fund_id", 1.5), ("donor_id", 1.9)],
)
def test_fractional_id_is_refused_not_truncated(ledger, world, field, value):
    # 1.5 is not fund 1: a client that sends it has a bug the ledger must not hide.
    assert_refused(ledger, "/pledges", "clerk", pledge_body(world, **{field: value}), field)


def test_id_larger_than_the_database_can_hold_is_refused(ledger, world):
    assert_refused(ledger, "/pledges", "clerk", pledge_body(world, fund_id=2**64), "fund_id")


@pytest.mark.parametrize(
    ("path", "user", "body", "field"),
    [
        ("/funds", "admin", {"name": "Fund\x00", "base_currency": "USD"}, "name"),
        ("/donors", "clerk", {"name": "A\x00B", "kind": "ngo", "country": "EG"}, "name"),
        (
            "/payees",
            "clerk",
            {"name": "P", "kind": "individual", "country": "PS", "aliases": ["\x00"]},
            "aliases.0",
        ),
    ],
)
def test_text_with_a_nul_character_is_refused(ledger, path, user, body, field):
    # PostgreSQL cannot store U+0000 in text; SQLite can. Refusing it up front
    # keeps both backends answering alike, and neither answering 500.
    assert_refused(ledger, path, user, body, field)


# ---------------------------------------------------------------- no input yields a 500

# Values at the edges where parsers, drivers and column types disagree.
EDGE_VALUES = [
    "",
    "\x00",
    "\u202e",
    "x" * 5000,
    "9" * 30,
    "1.00",
    "-1",
    "2021-05-26",
    "USD",
    "usd",
    "PS",
    "approve",
    2**31,
    2**63 - 1,
    2**63,
    2**64,
    -(2**63) - 1,
    1.5,
    1e300,
]
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(EDGE_VALUES)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=6,
)


def fuzzed_bodies(valid: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Random JSON; random objects; the valid body with some keys dropped or given
    random values; and the valid body with one value changed, which is what gets
    past the first checks and reaches the services and the database."""
    keys = sorted(valid)
    some_keys_random = st.fixed_dictionaries(
        {}, optional={key: st.just(value) | JSON_VALUES for key, value in valid.items()}
    )
    one_value_changed = st.tuples(
        st.sampled_from(keys), st.sampled_from(EDGE_VALUES) | JSON_VALUES
    ).map(lambda change: valid | {change[0]: change[1]})
    return st.one_of(
        JSON_VALUES,
        st.dictionaries(st.text(max_size=12), JSON_VALUES, max_size=6),
        some_keys_random,
        # Twice: the branch most likely to get past the schema and reach the database.
        one_value_changed,
        one_value_changed,
    )


@pytest.mark.parametrize(("name", "user", "build"), CORE_POSTS, ids=[c[0] for c in CORE_POSTS])
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_body_never_yields_a_server_error(ledger, world, name, user, build, data):
    path, valid = build(world)
    body = data.draw(fuzzed_bodies(valid), label="body")
    head = ledger.get("/audit-events/verify")["head_seq"]

    response = ledger.raw("POST", path, user, body, key=str(uuid.uuid4()))

    text = f"POST {path} {body!r}: {response.status_code} {response.get_data(as_text=True)}"
    assert response.status_code < 500, text
    assert response.is_json, text
    answer = response.get_json()
    if response.status_code >= 400:
        assert response.mimetype == "application/problem+json"
        assert answer["status"] == response.status_code
        assert isinstance(answer["code"], str) and answer["code"]
        if answer["code"] == "validation_error":
            assert ledger.get("/audit-events/verify")["head_seq"] == head
