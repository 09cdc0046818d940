"""The authorization matrix (tests/security/authz_matrix.py), checked exhaustively:
every route of the application, as every role, anonymously, with an expired token
and with a revoked token.

A caller the matrix lets in must get past the door: not 401, not 403 ``forbidden``
(it may still be refused by the operation's own rules: 404, 409, 422, or 403
``separation_of_duties``). A role the matrix keeps out gets 403 ``forbidden``; no
token gets 401 ``unauthenticated`` everywhere but the public routes; an expired or
revoked token gets it everywhere, public routes included (a token that is
presented must be valid). Bodies are empty (``{}``): the door is checked before the body.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from ledger.auth.models import ApiToken
from tests.security.authz_matrix import (
    MATRIX,
    ROLES,
    SECURITY_MD,
    render_markdown,
    section_in_docs,
)
from tests.test_api_conventions import build_world

# The world's first row of each kind has id 1; a token id nobody holds, so that
# revoking "it" as each caller changes nothing.
PATH_VALUES = {"token_id": "999999", "source": "un_sc"}

# One user per role (the driver's) and its token.
ROLE_USERS = {
    "admin": "admin",
    "clerk": "clerk",
    "committee_member": "member-un",
    "treasurer": "treasurer",
    "compliance": "compliance",
    "auditor": "auditor",
}


def _routes(app: Flask) -> set[tuple[str, str]]:
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in {"HEAD", "OPTIONS"}
    }


def _url(rule: str) -> str:
    url = rule
    for part in rule.split("/"):
        if part.startswith("<") and part.endswith(">"):
            name = part[1:-1].split(":")[-1]
            url = url.replace(part, PATH_VALUES.get(name, "1"))
    return url


def _call(ledger: Any, method: str, rule: str, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    kwargs: dict[str, Any] = {"headers": headers}
    if method in {"POST", "PATCH", "PUT"}:
        kwargs["json"] = {}
        headers["Idempotency-Key"] = "authz-matrix"
    return ledger.client.open(_url(rule), method=method, **kwargs)


def _code(response: Any) -> str | None:
    body = response.get_json(silent=True)
    return body.get("code") if isinstance(body, dict) else None


def _all_roles_token(ledger: Any, name: str) -> str:
    return ledger.user(name, list(ROLES), "UN", False)


def test_the_matrix_names_every_route_and_nothing_else(app):
    routes = _routes(app)

    missing = sorted(routes - MATRIX.keys())
    stale = sorted(MATRIX.keys() - routes)

    assert not missing, f"routes without a line in tests/security/authz_matrix.py: {missing}"
    assert not stale, f"lines in tests/security/authz_matrix.py for no route: {stale}"


def test_every_route_admits_exactly_whom_the_matrix_says(ledger, session: Session):
    build_world(ledger)
    callers = {role: ledger.tokens[user] for role, user in ROLE_USERS.items()}
    callers["anonymous"] = None  # type: ignore[assignment]
    expired = _all_roles_token(ledger, "expired-everything")
    session.execute(
        sa.update(ApiToken)
        .where(ApiToken.user_id == ledger.user_ids["expired-everything"])
        .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    )
    session.commit()
    revoked = _all_roles_token(ledger, "revoked-everything")
    token_id = session.scalar(
        sa.select(ApiToken.id).where(ApiToken.user_id == ledger.user_ids["revoked-everything"])
    )
    session.commit()  # end the read: SQLite has one writer, and the API must write
    ledger.call("POST", f"/tokens/{token_id}/revoke", "admin", expect=200)

    wrong: list[str] = []
    for (method, rule), allowed in MATRIX.items():
        for caller, token in callers.items():
            response = _call(ledger, method, rule, token)
            code = _code(response)
            if caller in allowed:
                ok = response.status_code != 401 and code != "forbidden"
            elif caller == "anonymous":
                ok = response.status_code == 401 and code == "unauthenticated"
            else:
                ok = response.status_code == 403 and code == "forbidden"
            if not ok:
                wrong.append(f"{method} {rule} as {caller}: {response.status_code} {code}")
        for caller, token in (("expired", expired), ("revoked", revoked)):
            response = _call(ledger, method, rule, token)
            code = _code(response)
            # A token that is presented must be valid, even where none is needed.
            ok = response.status_code == 401 and code == "unauthenticated"
            if not ok:
                wrong.append(f"{method} {rule} with {caller} token: {response.status_code} {code}")

    assert not wrong, "\n".join(wrong)


def test_docs_security_md_shows_the_matrix_as_it_is():
    # Regenerate with: .venv/bin/python -m tests.security.authz_matrix
    assert section_in_docs(SECURITY_MD.read_text()) == render_markdown().strip()
