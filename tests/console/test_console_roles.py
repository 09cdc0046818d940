"""Every role sees and can do in the console exactly what the API allows it (issue
24): each console route names the API operation it stands for, and each role,
signed in, is let in or refused (403) as the API's authorisation matrix
(tests/security/authz_matrix.py) says for that operation. A console route that
names no API operation fails here, so that a new page is a decision, not a gap."""

from __future__ import annotations

import re

import pytest

from tests.console.test_committee_pages import as_member
from tests.console.test_sign_in import csrf
from tests.security.authz_matrix import MATRIX

# One demo user per role.
USERS = {
    "admin": "admin",
    "clerk": "clerk",
    "committee_member": "member-un",
    "treasurer": "treasurer",
    "compliance": "compliance-1",
    "auditor": "auditor",
}

# (method, console rule): (the API operation it stands for, a path to try, with the
# demo's ids). Sign-in, sign-out, invitations, the language, the home page and the
# style sheet are for everyone and stand for no operation.
OPEN = {
    ("GET", "/console/"),
    ("GET", "/console/sign-in"),
    ("POST", "/console/sign-in"),
    ("POST", "/console/sign-out"),
    ("GET", "/console/invitations/<token>"),
    ("POST", "/console/invitations/<token>"),
    ("GET", "/console/static/<path:filename>"),
    ("GET", "/console/language/<code>"),
}
STANDS_FOR: dict[tuple[str, str], tuple[tuple[str, str], str]] = {
    ("GET", "/console/queue"): (("GET", "/api/v1/committee/queue"), "/console/queue"),
    ("GET", "/console/requests/<int:request_id>"): (
        ("GET", "/api/v1/spending-requests/<int:request_id>"),
        "/console/requests/4",
    ),
    ("POST", "/console/requests/<int:request_id>/vote"): (
        ("POST", "/api/v1/spending-requests/<int:request_id>/votes"),
        "/console/requests/4/vote",
    ),
    ("GET", "/console/payments"): (("POST", "/api/v1/disbursements"), "/console/payments"),
    ("GET", "/console/requests/<int:request_id>/pay"): (
        ("POST", "/api/v1/disbursements"),
        "/console/requests/1/pay",
    ),
    ("POST", "/console/requests/<int:request_id>/pay"): (
        ("POST", "/api/v1/disbursements"),
        "/console/requests/1/pay",
    ),
    ("GET", "/console/review-cases"): (
        ("GET", "/api/v1/review-case-groups"),
        "/console/review-cases",
    ),
    ("POST", "/console/review-cases/decide"): (
        ("POST", "/api/v1/review-case-groups/clear"),
        "/console/review-cases/decide",
    ),
    ("GET", "/console/requests"): (("GET", "/api/v1/spending-requests"), "/console/requests"),
    ("GET", "/console/requests/new"): (
        ("POST", "/api/v1/spending-requests"),
        "/console/requests/new",
    ),
    ("POST", "/console/requests/new"): (
        ("POST", "/api/v1/spending-requests"),
        "/console/requests/new",
    ),
    ("GET", "/console/batches"): (("GET", "/api/v1/batches"), "/console/batches"),
    ("GET", "/console/batches/<int:batch_id>"): (
        ("GET", "/api/v1/batches/<int:batch_id>"),
        "/console/batches/999999",
    ),
    ("POST", "/console/batches/<int:batch_id>/post"): (
        ("POST", "/api/v1/batches/<int:batch_id>/post"),
        "/console/batches/999999/post",
    ),
    ("GET", "/console/funds"): (("GET", "/api/v1/reports"), "/console/funds"),
    ("GET", "/console/funds/<int:fund_id>"): (
        ("GET", "/api/v1/reports/fund-position"),
        "/console/funds/1?as_of=2021-12-31",
    ),
    ("GET", "/console/funds/<int:fund_id>/charts/<name>.svg"): (
        ("GET", "/api/v1/reports/<string:name>"),
        "/console/funds/1/charts/sectors.svg?as_of=2021-12-31",
    ),
    ("GET", "/console/funds/<int:fund_id>/reports/<name>.<any(json, csv, xlsx, pdf):fmt>"): (
        ("GET", "/api/v1/reports/<string:name>"),
        "/console/funds/1/reports/pledge-tracker.csv?as_of=2021-12-31",
    ),
    ("GET", "/console/audit"): (("GET", "/api/v1/audit-events/verify"), "/console/audit"),
    ("GET", "/console/users"): (("GET", "/api/v1/users"), "/console/users"),
    ("POST", "/console/users"): (("POST", "/api/v1/users"), "/console/users"),
    ("GET", "/console/users/<int:user_id>"): (
        ("GET", "/api/v1/users/<int:user_id>"),
        "/console/users/2",
    ),
    # An invitation is the admin's, as creating the user is.
    ("POST", "/console/users/<int:user_id>/invite"): (
        ("POST", "/api/v1/users"),
        "/console/users/2/invite",
    ),
    ("POST", "/console/users/<int:user_id>/tokens"): (
        ("POST", "/api/v1/users/<int:user_id>/tokens"),
        "/console/users/2/tokens",
    ),
    ("POST", "/console/tokens/<int:token_id>/revoke"): (
        ("POST", "/api/v1/tokens/<int:token_id>/revoke"),
        "/console/tokens/999999/revoke",
    ),
    ("POST", "/console/review-cases/clearances/<int:clearance_id>/approve"): (
        ("POST", "/api/v1/review-case-groups/clearances/<int:clearance_id>/approve"),
        "/console/review-cases/clearances/1/approve",
    ),
    ("GET", "/console/payees/<int:payee_id>"): (
        ("GET", "/api/v1/payees/<int:payee_id>"),
        "/console/payees/1",
    ),
    ("POST", "/console/payees/<int:payee_id>/restrict"): (
        ("POST", "/api/v1/payees/<int:payee_id>/restrictions"),
        "/console/payees/1/restrict",
    ),
    ("GET", "/console/restrictions"): (("GET", "/api/v1/restrictions"), "/console/restrictions"),
    ("POST", "/console/restrictions/<int:restriction_id>/lift"): (
        ("POST", "/api/v1/restrictions/<int:restriction_id>/lift"),
        "/console/restrictions/1/lift",
    ),
    ("GET", "/console/refusals"): (("GET", "/api/v1/refusals"), "/console/refusals"),
    ("GET", "/console/refusals/<int:refusal_id>"): (
        ("GET", "/api/v1/refusals/<int:refusal_id>"),
        "/console/refusals/1",
    ),
    ("POST", "/console/requests/<int:request_id>/documents"): (
        ("POST", "/api/v1/spending-requests/<int:request_id>/documents"),
        "/console/requests/4/documents",
    ),
    ("GET", "/console/documents/<int:document_id>"): (
        ("GET", "/api/v1/documents/<int:document_id>/content"),
        "/console/documents/999999",
    ),
    ("GET", "/console/watchlists"): (("GET", "/api/v1/watchlists"), "/console/watchlists"),
    ("GET", "/console/watchlists/versions/<int:version_id>"): (
        ("GET", "/api/v1/watchlists/<source>/versions"),
        "/console/watchlists/versions/1",
    ),
    ("GET", "/console/notifications"): (
        ("GET", "/api/v1/me/notification-preferences"),
        "/console/notifications",
    ),
    ("POST", "/console/notifications/preferences"): (
        ("PUT", "/api/v1/me/notification-preferences"),
        "/console/notifications/preferences",
    ),
    ("POST", "/console/notifications/webhooks"): (
        ("POST", "/api/v1/me/webhooks"),
        "/console/notifications/webhooks",
    ),
    ("POST", "/console/notifications/webhooks/<int:webhook_id>/disable"): (
        ("POST", "/api/v1/me/webhooks/<int:webhook_id>/disable"),
        "/console/notifications/webhooks/999999/disable",
    ),
}


def console_routes(app) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/console")
        for method in rule.methods or ()
        if method not in {"HEAD", "OPTIONS"}
    }


def test_every_console_route_stands_for_an_api_operation(app):
    routes = console_routes(app)
    unnamed = sorted(routes - OPEN - set(STANDS_FOR))
    assert not unnamed, f"name the API operation each stands for in STANDS_FOR: {unnamed}"
    assert not set(STANDS_FOR) - routes, "STANDS_FOR names a route the console lacks"
    for _route, (operation, _path) in STANDS_FOR.items():
        assert operation in MATRIX, operation


@pytest.mark.parametrize("role", sorted(USERS))
def test_each_role_is_let_in_or_refused_as_the_api_would(runner, client, role):
    as_member(runner, client, USERS[role])
    token = csrf(client.get("/console/").data)
    wrong = []
    for (method, _rule), (operation, path) in sorted(STANDS_FOR.items()):
        if method == "GET":
            status = client.get(path).status_code
        else:
            status = client.post(path, data={"csrf_token": token}).status_code
        may = role in MATRIX[operation]
        if (status == 403) == may or status >= 500:
            wrong.append(f"{method} {path}: {status}, the API {'allows' if may else 'refuses'}")
    assert not wrong, "\n".join(wrong)


def test_the_home_page_offers_only_what_the_role_may_open(runner, client):
    as_member(runner, client, "clerk")
    home = client.get("/console/").data.decode()
    links = re.findall(r'<a [^>]*href="(/console/[^"]*)"', home)
    assert links
    for link in links:
        if link.startswith("/console/language/"):
            continue
        assert client.get(link).status_code == 200, link
