"""The API's conventions (SPEC §5): problem+json errors, authentication, roles,
pagination, filters and the OpenAPI document."""

from __future__ import annotations

import base64
import datetime as dt
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ledger.auth.models import ApiToken
from tests.factories import API

PROBLEM_MIME = "application/problem+json"
PROBLEM_FIELDS = {"type", "title", "status", "detail", "code"}


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status and stable code."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM_MIME
    body: dict[str, Any] = response.get_json(force=True)
    assert body.keys() >= PROBLEM_FIELDS
    assert body["status"] == status
    assert body["code"] == code
    assert isinstance(body["type"], str) and body["type"]
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def audit_head(ledger: Any) -> int:
    """How many audit events exist: every change writes at least one."""
    head: int = ledger.get("/audit-events/verify")["head_seq"]
    return head


def build_world(ledger: Any) -> dict[str, Any]:
    """A funded fund with an approved request (partly paid), a pending one, and a
    restricted payee: something for every core POST to refer to."""
    w = ledger.approved("100000.00")
    fund, project, payee = w["fund"]["id"], w["project"]["id"], w["payee"]["id"]
    w["pending"] = ledger.request(fund, project, payee, "1000.00")
    w["blocked"] = ledger.payee("Blocked Trading LLC")
    w["restriction"] = ledger.call(
        "POST",
        f"/payees/{w['blocked']['id']}/restrictions",
        "compliance",
        {"reason": "Listed by the fund's own review"},
        expect=201,
    )
    w["contribution"] = ledger.get(f"/pledges/{w['pledge']['id']}/contributions")["items"][0]
    w["disbursement"] = ledger.disburse(w["request"]["id"], "1000.00")
    return w


@pytest.fixture
def world(ledger: Any) -> dict[str, Any]:
    return build_world(ledger)


# ---------------------------------------------------------------- problem+json


def test_error_is_problem_json_with_rfc9457_fields(ledger):
    response = ledger.raw("GET", "/funds/424242", "auditor")

    body = assert_problem(response, 404, "not_found")
    assert "424242" in body["detail"]


def test_validation_error_maps_each_field_to_its_messages(ledger):
    response = ledger.raw("POST", "/funds", "admin", {"base_currency": "usd", "colour": "red"})

    body = assert_problem(response, 422, "validation_error")
    assert set(body["errors"]) == {"name", "base_currency", "colour"}
    for messages in body["errors"].values():
        assert messages and all(isinstance(m, str) and m for m in messages)


def test_body_that_is_not_json_is_a_validation_error(ledger, client):
    response = client.post(
        f"{API}/funds",
        data="{name: oops",
        headers={
            "Authorization": f"Bearer {ledger.tokens['admin']}",
            "Content-Type": "application/json",
        },
    )

    assert_problem(response, 422, "validation_error")


def test_body_that_is_a_json_array_is_a_validation_error(ledger):
    response = ledger.raw("POST", "/funds", "admin", [{"name": "x", "base_currency": "USD"}])

    assert_problem(response, 422, "validation_error")


def test_success_is_plain_json(ledger):
    response = ledger.raw("POST", "/funds", "admin", {"name": "A fund", "base_currency": "USD"})

    assert response.status_code == 201
    assert response.mimetype == "application/json"


# ---------------------------------------------------------------- 401 unauthenticated


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Basic YWRtaW46YWRtaW4=",
        "Bearer",
        "Bearer    ",
        "Token abc",
        "Bearer no-such-token",
    ],
    ids=["none", "basic", "bearer-alone", "bearer-blank", "other-scheme", "unknown-token"],
)
def test_request_without_a_valid_bearer_token_is_unauthenticated(ledger, client, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}

    read = client.get(f"{API}/funds", headers=headers)
    write = client.post(
        f"{API}/funds", json={"name": "Sneaky fund", "base_currency": "USD"}, headers=headers
    )

    assert_problem(read, 401, "unauthenticated")
    assert_problem(write, 401, "unauthenticated")
    assert ledger.get("/funds")["items"] == []


def token_id_of(ledger: Any, user: str) -> int:
    tokens = ledger.get(f"/users/{ledger.user_ids[user]}/tokens", as_="admin")["items"]
    assert len(tokens) == 1
    token_id: int = tokens[0]["id"]
    return token_id


def test_user_revoking_their_own_token_is_unauthenticated_afterwards(ledger):
    token_id = token_id_of(ledger, "clerk")
    assert ledger.raw("GET", "/me", "clerk").status_code == 200

    revoked = ledger.call("POST", f"/tokens/{token_id}/revoke", "clerk")

    assert revoked["id"] == token_id
    assert revoked["revoked_at"] is not None
    assert_problem(ledger.raw("GET", "/me", "clerk"), 401, "unauthenticated")
    assert_problem(ledger.raw("POST", "/donors", "clerk", {}), 401, "unauthenticated")


def test_admin_may_revoke_another_users_token(ledger):
    token_id = token_id_of(ledger, "treasurer")

    ledger.call("POST", f"/tokens/{token_id}/revoke", "admin")

    assert_problem(ledger.raw("GET", "/me", "treasurer"), 401, "unauthenticated")
    assert ledger.raw("GET", "/me", "admin").status_code == 200


def test_staff_may_not_revoke_another_users_token(ledger):
    token_id = token_id_of(ledger, "treasurer")

    response = ledger.raw("POST", f"/tokens/{token_id}/revoke", "clerk")

    assert_problem(response, 403, "forbidden")
    assert ledger.raw("GET", "/me", "treasurer").status_code == 200


def test_expired_token_is_unauthenticated(ledger, session: Session):
    assert ledger.raw("GET", "/me", "auditor").status_code == 200
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    session.execute(
        sa.update(ApiToken)
        .where(ApiToken.user_id == ledger.user_ids["auditor"])
        .values(expires_at=past)
    )
    session.commit()

    assert_problem(ledger.raw("GET", "/me", "auditor"), 401, "unauthenticated")


def test_token_not_yet_expired_still_authenticates(ledger, session: Session):
    future = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    session.execute(
        sa.update(ApiToken)
        .where(ApiToken.user_id == ledger.user_ids["auditor"])
        .values(expires_at=future)
    )
    session.commit()

    assert ledger.raw("GET", "/me", "auditor").status_code == 200


@pytest.mark.parametrize("path", ["/disbursements", "/pledges/1/contributions"])
def test_authentication_is_checked_before_the_idempotency_key(ledger, path):
    # Who is calling comes first, as for every other request: a caller without a
    # token is told so, not asked for a header it could not use anyway.
    response = ledger.raw("POST", path, None, {})

    assert_problem(response, 401, "unauthenticated")


# ---------------------------------------------------------------- 403 forbidden


def _uid() -> str:
    return uuid.uuid4().hex[:8]


# path, the user whose role may POST it, a valid body; all built from ``world``.
CORE_POSTS: list[tuple[str, str, Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]]] = [
    ("funds", "admin", lambda w: ("/funds", {"name": f"Fund {_uid()}", "base_currency": "EUR"})),
    (
        "donors",
        "clerk",
        lambda w: ("/donors", {"name": f"Donor {_uid()}", "kind": "ngo", "country": "NO"}),
    ),
    (
        "pledges",
        "clerk",
        lambda w: (
            "/pledges",
            {
                "fund_id": w["fund"]["id"],
                "donor_id": w["donor"]["id"],
                "amount": "5000.00",
                "currency": "USD",
                "pledged_on": "2021-06-01",
            },
        ),
    ),
    (
        "contributions",
        "treasurer",
        lambda w: (
            f"/pledges/{w['pledge']['id']}/contributions",
            {
                "amount": "10.00",
                "currency": "USD",
                "received_on": "2021-06-20",
                "reference": f"BANK-{_uid()}",
                "over_contribution": True,
            },
        ),
    ),
    (
        "projects",
        "clerk",
        lambda w: (
            "/projects",
            {
                "fund_id": w["fund"]["id"],
                "name": f"Water network {_uid()}",
                "sector": "water_sanitation",
                "location": "Rafah",
            },
        ),
    ),
    (
        "payees",
        "clerk",
        lambda w: ("/payees", {"name": f"Payee {_uid()}", "kind": "organization", "country": "EG"}),
    ),
    (
        "restrictions",
        "compliance",
        lambda w: (f"/payees/{w['payee']['id']}/restrictions", {"reason": "Under review"}),
    ),
    (
        "lift",
        "compliance2",
        lambda w: (f"/restrictions/{w['restriction']['id']}/lift", {"reason": "Delisted"}),
    ),
    (
        "spending-requests",
        "clerk",
        lambda w: (
            "/spending-requests",
            {
                "fund_id": w["fund"]["id"],
                "project_id": w["project"]["id"],
                "payee_id": w["payee"]["id"],
                "amount": "500.00",
                "currency": "USD",
                "purpose": "Roof repairs",
            },
        ),
    ),
    (
        "votes",
        "member-un",
        lambda w: (
            f"/spending-requests/{w['pending']['id']}/votes",
            {"decision": "approve", "comment": "Sound"},
        ),
    ),
    (
        "disbursements",
        "treasurer",
        lambda w: (
            "/disbursements",
            {
                "spending_request_id": w["request"]["id"],
                "amount": "250.00",
                "currency": "USD",
                "reference": f"PAY-{_uid()}",
            },
        ),
    ),
]

# One user per role, and the role each of the driver's users holds.
STAFF = ["admin", "clerk", "treasurer", "compliance", "auditor", "member-un"]
ROLE = {user: user for user in STAFF} | {
    "member-un": "committee_member",
    "compliance2": "compliance",
}


@pytest.mark.parametrize(("name", "allowed", "build"), CORE_POSTS, ids=[c[0] for c in CORE_POSTS])
def test_core_post_is_forbidden_to_every_other_role(ledger, world, name, allowed, build):
    path, body = build(world)
    head = audit_head(ledger)
    for user in STAFF:
        if ROLE[user] == ROLE[allowed]:
            continue
        response = ledger.raw("POST", path, user, body, key=str(uuid.uuid4()))
        assert_problem(response, 403, "forbidden")
    assert audit_head(ledger) == head

    # The same body from the right role goes through: the refusals were about roles.
    ok = ledger.raw("POST", path, allowed, body, key=str(uuid.uuid4()))
    assert ok.status_code in (200, 201), ok.get_data(as_text=True)


# ---------------------------------------------------------------- 404, 405


@pytest.mark.parametrize(
    "collection",
    [
        "funds",
        "donors",
        "pledges",
        "contributions",
        "projects",
        "payees",
        "restrictions",
        "spending-requests",
        "disbursements",
        "audit-events",
    ],
)
def test_unknown_id_is_not_found(ledger, collection):
    assert_problem(ledger.raw("GET", f"/{collection}/987654", "auditor"), 404, "not_found")


@pytest.mark.parametrize(
    ("path", "user", "body"),
    [
        ("/pledges/987654/contributions", "treasurer", None),
        ("/payees/987654/restrictions", "compliance", {"reason": "Listed"}),
        ("/restrictions/987654/lift", "compliance", {"reason": "Delisted"}),
        ("/spending-requests/987654/votes", "member-un", {"decision": "approve", "comment": "ok"}),
    ],
)
def test_post_under_an_unknown_parent_is_not_found(ledger, path, user, body):
    if body is None:
        body = {
            "amount": "1.00",
            "currency": "USD",
            "received_on": "2021-06-01",
            "reference": "BANK-1",
        }

    response = ledger.raw("POST", path, user, body, key=str(uuid.uuid4()))

    assert_problem(response, 404, "not_found")


def test_unknown_path_is_not_found(ledger):
    assert_problem(ledger.raw("GET", "/no-such-thing", "auditor"), 404, "not_found")


def test_id_larger_than_the_database_can_hold_is_not_found(ledger):
    assert_problem(
        ledger.raw("GET", f"/funds/{2**64}", "auditor"),
        404,
        "not_found",
    )


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/funds", {"GET", "POST"}),
        ("PUT", "/funds/1", {"GET"}),
        ("PATCH", "/pledges/1", {"GET"}),
        ("DELETE", "/audit-events/1", {"GET"}),
        ("GET", "/restrictions/1/lift", {"POST"}),
    ],
)
def test_method_not_allowed_is_405_naming_the_allowed_methods(ledger, method, path, allowed):
    response = ledger.raw(method, path, "admin")

    assert_problem(response, 405, "method_not_allowed")
    offered = {m.strip() for m in response.headers["Allow"].split(",")}
    assert allowed <= offered


# ---------------------------------------------------------------- pagination


def donors(ledger: Any, n: int) -> list[int]:
    return [ledger.donor(name=f"Donor {i:02d}", country="EG")["id"] for i in range(n)]


def all_pages(ledger: Any, path: str, limit: int) -> tuple[list[int], int]:
    """Follow next_cursor to the end; return the ids seen and the number of pages."""
    ids: list[int] = []
    cursor: str | None = None
    pages = 0
    sep = "&" if "?" in path else "?"
    while True:
        query = f"{path}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        page = ledger.get(query)
        pages += 1
        assert len(page["items"]) <= limit
        ids += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids, pages
        assert pages < 100, "the cursor does not advance"


def test_pages_follow_next_cursor_through_every_item_once_in_id_order(ledger):
    created = donors(ledger, 5)

    ids, pages = all_pages(ledger, "/donors", limit=2)

    assert ids == sorted(created)
    assert pages == 3


def test_last_page_has_no_next_cursor(ledger):
    donors(ledger, 2)

    page = ledger.get("/donors?limit=2")

    assert len(page["items"]) == 2
    assert page["next_cursor"] is None


def test_same_page_asked_twice_is_the_same(ledger):
    donors(ledger, 4)
    first = ledger.get("/donors?limit=2")

    again = ledger.get(f"/donors?limit=2&cursor={first['next_cursor']}")
    once_more = ledger.get(f"/donors?limit=2&cursor={first['next_cursor']}")

    assert again == once_more
    assert [d["id"] for d in again["items"]] == [d["id"] for d in ledger.get("/donors")["items"]][
        2:4
    ]


def test_rows_created_while_paging_appear_once_at_the_end(ledger):
    created = donors(ledger, 3)
    first = ledger.get("/donors?limit=2")
    late = ledger.donor(name="Late donor", country="QA")["id"]

    rest = ledger.get(f"/donors?limit=10&cursor={first['next_cursor']}")

    seen = [d["id"] for d in first["items"]] + [d["id"] for d in rest["items"]]
    assert seen == [*sorted(created), late]


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    ["abc", "!!!", "%25%25", _cursor("offset:2"), _cursor("id:two"), _cursor(f"id:{2**64}")],
    ids=["garbage", "punctuation", "percent", "other-kind", "not-a-number", "beyond-range"],
)
def test_invalid_cursor_is_refused_naming_cursor(ledger, cursor):
    response = ledger.raw("GET", f"/donors?cursor={cursor}", "auditor")

    body = assert_problem(response, 422, "validation_error")
    assert "cursor" in body["errors"]


@pytest.mark.parametrize("limit", ["0", "-1", "501", "ten", "1.5"])
def test_limit_out_of_range_is_refused_naming_limit(ledger, limit):
    response = ledger.raw("GET", f"/donors?limit={limit}", "auditor")

    body = assert_problem(response, 422, "validation_error")
    assert "limit" in body["errors"]


@pytest.mark.parametrize("limit", [1, 500])
def test_limit_at_the_bounds_is_accepted(ledger, limit):
    donors(ledger, 2)

    page = ledger.get(f"/donors?limit={limit}")

    assert len(page["items"]) == min(limit, 2)


def test_default_page_is_fifty_items(ledger):
    donors(ledger, 51)

    page = ledger.get("/donors")

    assert len(page["items"]) == 50
    assert page["next_cursor"] is not None


LIST_PATHS = [
    "/funds",
    "/donors",
    "/pledges",
    "/contributions",
    "/projects",
    "/payees",
    "/restrictions",
    "/spending-requests",
    "/disbursements",
    "/audit-events",
    "/refusals",
    "/journal/entries",
    "/pledges/{pledge}/contributions",
    "/payees/{blocked}/restrictions",
    "/spending-requests/{request}/votes",
]


@pytest.mark.parametrize("template", LIST_PATHS)
def test_every_list_paginates(ledger, world, template):
    path = template.format(
        pledge=world["pledge"]["id"],
        blocked=world["blocked"]["id"],
        request=world["request"]["id"],
    )
    # A second row where the world has one, so that limit=1 has a next page.
    ledger.contribute(world["pledge"]["id"], "1.00", over_contribution=True)

    page = ledger.get(f"{path}?limit=1")

    assert isinstance(page, dict), f"{path} answers a bare list, not a page"
    assert set(page) == {"items", "next_cursor"}
    assert len(page["items"]) <= 1
    ids, _pages = all_pages(ledger, path, limit=1)
    assert ids == sorted(set(ids))


# ---------------------------------------------------------------- filters


def ids(page: dict[str, Any]) -> list[int]:
    return [item["id"] for item in page["items"]]


def test_donors_filter_by_kind_and_country(ledger):
    qatar = ledger.donor("State of Qatar", "government", "QA")["id"]
    egypt = ledger.donor("Arab Republic of Egypt", "government", "EG")["id"]
    ngo = ledger.donor("Qatar Charity", "ngo", "QA")["id"]

    assert ids(ledger.get("/donors?kind=government")) == [qatar, egypt]
    assert ids(ledger.get("/donors?country=QA")) == [qatar, ngo]
    assert ids(ledger.get("/donors?kind=ngo&country=QA")) == [ngo]
    assert ids(ledger.get("/donors?kind=multilateral")) == []


def test_pledges_filter_by_donor_currency_and_fund(ledger):
    fund = ledger.fund()["id"]
    other_fund = ledger.fund("Second fund")["id"]
    qatar = ledger.donor("State of Qatar")["id"]
    eu = ledger.donor("European Union", "multilateral", "BE")["id"]
    p1 = ledger.pledge(fund, qatar, "100.00")["id"]
    p2 = ledger.pledge(fund, eu, "200.00", "EUR", fx_rate="1.2")["id"]
    p3 = ledger.pledge(other_fund, qatar, "300.00")["id"]

    assert ids(ledger.get(f"/pledges?donor_id={qatar}")) == [p1, p3]
    assert ids(ledger.get("/pledges?currency=EUR")) == [p2]
    assert ids(ledger.get(f"/pledges?fund_id={fund}")) == [p1, p2]
    assert ids(ledger.get(f"/pledges?fund_id={fund}&donor_id={qatar}")) == [p1]


def test_filters_combine_with_pagination(ledger):
    fund = ledger.fund()["id"]
    qatar = ledger.donor("State of Qatar")["id"]
    eu = ledger.donor("European Union", "multilateral", "BE")["id"]
    mine = []
    for i in range(3):
        mine.append(ledger.pledge(fund, qatar, f"{i + 1}00.00")["id"])
        ledger.pledge(fund, eu, f"{i + 1}00.00")

    seen, pages = all_pages(ledger, f"/pledges?donor_id={qatar}", limit=2)

    assert seen == mine
    assert pages == 2


def test_projects_filter_by_sector_and_location(ledger):
    fund = ledger.fund()["id"]
    homes = ledger.project(fund, "Homes", "housing", "Gaza City")["id"]
    water = ledger.project(fund, "Water", "water_sanitation", "Rafah")["id"]
    homes_rafah = ledger.project(fund, "Homes south", "housing", "Rafah")["id"]

    assert ids(ledger.get("/projects?sector=housing")) == [homes, homes_rafah]
    assert ids(ledger.get("/projects?location=Rafah")) == [water, homes_rafah]


def test_payees_filter_by_part_of_the_name_in_any_case(ledger):
    bina = ledger.payee("Al-Bina Contracting Company")["id"]
    ledger.payee("Gaza Water Works")
    bina2 = ledger.payee("Bina Tiles")["id"]

    assert ids(ledger.get("/payees?name=bina")) == [bina, bina2]


def test_spending_requests_and_disbursements_filter_by_status_and_request(ledger, world):
    approved, pending = world["request"]["id"], world["pending"]["id"]
    second = ledger.disburse(approved, "2000.00")["id"]

    assert ids(ledger.get("/spending-requests?status=pending")) == [pending]
    assert ids(ledger.get("/spending-requests?status=approved")) == [approved]
    assert ids(ledger.get(f"/disbursements?spending_request_id={approved}")) == [
        world["disbursement"]["id"],
        second,
    ]
    assert ids(ledger.get(f"/disbursements?spending_request_id={pending}")) == []


def test_contributions_filter_by_value_date_range(ledger):
    fund = ledger.fund()["id"]
    donor = ledger.donor()["id"]
    pledge = ledger.pledge(fund, donor, "300.00")["id"]
    june = ledger.contribute(pledge, "100.00", received_on="2021-06-15")["id"]
    july = ledger.contribute(pledge, "100.00", received_on="2021-07-15")["id"]
    august = ledger.contribute(pledge, "100.00", received_on="2021-08-15")["id"]

    assert ids(ledger.get("/contributions?received_from=2021-07-01")) == [july, august]
    assert ids(ledger.get("/contributions?received_to=2021-07-15")) == [june, july]
    window = "/contributions?received_from=2021-07-01&received_to=2021-07-31"
    assert ids(ledger.get(window)) == [july]


def test_audit_events_filter_by_action_and_entity(ledger):
    fund = ledger.fund()["id"]
    ledger.donor()

    events = ledger.get("/audit-events?action=fund.created")["items"]
    by_entity = ledger.get(f"/audit-events?entity_type=funds&entity_id={fund}")["items"]

    assert [e["action"] for e in events] == ["fund.created"]
    assert events[0]["entity_id"] == str(fund)
    assert [e["id"] for e in by_entity] == [events[0]["id"]]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("/donors?kind=alien", "kind"),
        ("/spending-requests?status=maybe", "status"),
        ("/contributions?received_from=June", "received_from"),
        ("/pledges?fund_id=first", "fund_id"),
        ("/projects?sector=space", "sector"),
    ],
)
def test_invalid_filter_value_is_refused_naming_the_filter(ledger, query, field):
    body = assert_problem(ledger.raw("GET", query, "auditor"), 422, "validation_error")
    assert field in body["errors"]


# ---------------------------------------------------------------- resources


@pytest.mark.parametrize(
    ("collection", "key"),
    [
        ("funds", "fund"),
        ("donors", "donor"),
        ("pledges", "pledge"),
        ("contributions", "contribution"),
        ("projects", "project"),
        ("payees", "payee"),
        ("restrictions", "restriction"),
        ("spending-requests", "request"),
        ("disbursements", "disbursement"),
    ],
)
def test_every_resource_carries_id_and_created_at(ledger, world, collection, key):
    resource = ledger.get(f"/{collection}/{world[key]['id']}")

    assert resource["id"] == world[key]["id"]
    assert dt.datetime.fromisoformat(resource["created_at"]).tzinfo is not None


# ---------------------------------------------------------------- OpenAPI


SPEC_OPERATIONS = [
    ("post", "/funds"),
    ("post", "/donors"),
    ("post", "/pledges"),
    ("post", "/pledges/{id}/contributions"),
    ("post", "/projects"),
    ("post", "/payees"),
    ("post", "/payees/{id}/restrictions"),
    ("post", "/restrictions/{id}/lift"),
    ("post", "/spending-requests"),
    ("post", "/spending-requests/{id}/votes"),
    ("post", "/disbursements"),
    ("get", "/reports/fund-position"),
    ("get", "/audit-events"),
    ("get", "/audit-events/verify"),
    *[
        (method, path)
        for collection in (
            "funds",
            "donors",
            "pledges",
            "projects",
            "payees",
            "restrictions",
            "spending-requests",
            "disbursements",
            "audit-events",
            "contributions",
        )
        for method, path in (("get", f"/{collection}"), ("get", f"/{collection}/{{id}}"))
    ],
]


@pytest.fixture
def openapi(client) -> dict[str, Any]:
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    document: dict[str, Any] = response.get_json()
    return document


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Every operation, keyed by method and path with parameters written ``{id}``."""
    found = {}
    for path, item in document["paths"].items():
        generic = re.sub(r"\{[^}]+\}", "{id}", path.removeprefix(API))
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                found[(method, generic)] = operation
    return found


def test_openapi_document_is_openapi_3(openapi):
    assert openapi["openapi"].startswith("3.")
    assert openapi["info"]["title"]
    assert openapi["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_openapi_document_has_every_operation_of_the_spec(openapi):
    documented = operations(openapi)

    missing = [f"{m.upper()} {p}" for m, p in SPEC_OPERATIONS if (m, p) not in documented]

    assert missing == []


@pytest.mark.parametrize("path", ["/disbursements", "/pledges/{id}/contributions"])
def test_openapi_documents_the_required_idempotency_key_header(openapi, path):
    operation = operations(openapi)[("post", path)]

    headers = [p for p in operation.get("parameters", []) if p["in"] == "header"]

    assert [(h["name"], h["required"]) for h in headers] == [("Idempotency-Key", True)]


@pytest.mark.parametrize(
    ("path", "schema", "fields"),
    [
        ("/funds", "FundCreate", {"name", "base_currency"}),
        ("/donors", "DonorCreate", {"name", "kind", "country"}),
        (
            "/pledges",
            "PledgeCreate",
            {"fund_id", "donor_id", "amount", "currency", "pledged_on", "earmark"},
        ),
        (
            "/pledges/{id}/contributions",
            "ContributionCreate",
            {"amount", "currency", "received_on", "reference", "fx_rate"},
        ),
        ("/projects", "ProjectCreate", {"fund_id", "name", "sector", "location"}),
        (
            "/payees",
            "PayeeCreate",
            {
                "name",
                "kind",
                "country",
                "aliases",
                "original_script_name",
                "identifiers",
                "related_parties",
            },
        ),
        ("/payees/{id}/restrictions", "Reason", {"reason"}),
        ("/restrictions/{id}/lift", "Reason", {"reason"}),
        (
            "/spending-requests",
            "SpendingRequestCreate",
            {"fund_id", "project_id", "payee_id", "amount", "currency", "purpose"},
        ),
        ("/spending-requests/{id}/votes", "VoteCreate", {"decision", "comment"}),
        (
            "/disbursements",
            "DisbursementCreate",
            {"spending_request_id", "amount", "currency", "reference"},
        ),
    ],
)
def test_openapi_request_body_is_the_schema_that_validates(openapi, path, schema, fields):
    operation = operations(openapi)[("post", path)]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]

    assert ref == f"#/components/schemas/{schema}"
    properties = openapi["components"]["schemas"][schema]["properties"]
    assert fields <= set(properties)


def test_openapi_amounts_are_documented_as_strings(openapi):
    schemas = openapi["components"]["schemas"]

    for name in ("PledgeCreate", "ContributionCreate", "SpendingRequestCreate"):
        assert schemas[name]["properties"]["amount"]["type"] == "string"
    for name in ("Pledge", "Contribution", "SpendingRequest", "Disbursement"):
        assert schemas[name]["properties"]["amount"]["type"] == "string"


def test_openapi_has_component_schemas_for_resources_and_problems(openapi):
    schemas = openapi["components"]["schemas"]

    for name in (
        "Fund",
        "Donor",
        "Pledge",
        "Contribution",
        "Project",
        "Payee",
        "Restriction",
        "SpendingRequest",
        "Vote",
        "Disbursement",
        "FundPosition",
        "AuditEvent",
        "ChainReport",
        "Problem",
    ):
        assert name in schemas, name
    assert PROBLEM_FIELDS | {"errors"} <= set(schemas["Problem"]["properties"])


def test_openapi_document_needs_no_token(client):
    assert client.get(f"{API}/openapi.json").status_code == 200


def test_interactive_docs_are_served_as_html(client):
    response = client.get(f"{API}/docs")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert f"{API}/openapi.json" in response.get_data(as_text=True)
