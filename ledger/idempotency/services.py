"""Exactly one effect per ``Idempotency-Key`` (SPEC §3.6).

The key is inserted, in the request's own transaction, before the work is done. A
concurrent request with the same key waits on the unique index until the first
commits, then finds the stored answer and replays it; if the first rolled back,
the key is free again and the second does the work. A duplicate waits at most
``WAIT_FOR_FIRST`` (then ``409 request_in_progress``). Only successful answers are
stored: a refused request changes nothing, so retrying it is safe.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Response, current_app, g, request
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from ledger.auth.access import current_user
from ledger.db import DriverStatement, UTCDateTime, at_commit, db, is_postgresql, utcnow
from ledger.errors import IdempotencyKeyMissing, IdempotencyKeyReused, RequestInProgress
from ledger.idempotency.models import IdempotencyKey

F = TypeVar("F", bound=Callable[..., Any])

HEADER = "Idempotency-Key"
# How long a duplicate waits for the first request with its key before being told
# that it is still in progress.
WAIT_FOR_FIRST = "10s"
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE when lock_timeout expires

HEADER_DOC = {
    "in": "header",
    "name": HEADER,
    "required": True,
    "description": "A unique key per intended effect (e.g. a UUID). A retry with the same "
    "key and body returns the first answer; the same key with another body is refused.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
}


def request_fingerprint() -> str:
    """What a key's first request is remembered by: its method, path and body."""
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\0")
    digest.update(request.path.encode())
    digest.update(b"\0")
    digest.update(request.get_data())
    return digest.hexdigest()


def _replay(stored: IdempotencyKey, fingerprint: str) -> Response:
    if stored.request_hash != fingerprint:
        raise IdempotencyKeyReused(
            f"The Idempotency-Key '{stored.key}' was used for a different request; "
            "use a new key for a new effect."
        )
    if stored.status_code is None or stored.response_body is None:
        raise RequestInProgress("The first request with this key has not finished.")
    response = Response(
        stored.response_body, status=stored.status_code, mimetype="application/json"
    )
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _find(session: Session, user_id: int, key: str) -> IdempotencyKey | None:
    return session.scalars(
        select(IdempotencyKey)
        .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
        .execution_options(populate_existing=True)
    ).first()


# PostgreSQL: one statement claims the key. ``ON CONFLICT DO NOTHING`` waits, like a
# plain insert, for a concurrent transaction holding the same key, then inserts
# (it rolled back) or returns no row (it committed: replay its answer). The wait is
# bounded by ``lock_timeout``, set for this statement only: the subquery sets it
# (keeping the value it had) before the row is inserted, and RETURNING puts the
# kept value back once the row is in. Without a row (a replay) it stays bounded for
# the short rest of the transaction, which only reads the stored answer.
# ``{claimant}`` is a query of one column, ``user_id``: the user whose key it is.
_CLAIM_PG = """
    INSERT INTO idempotency_keys (user_id, key, method, path, request_hash, created_at)
    SELECT claimant.user_id, :key, :method, :path, :request_hash, :created_at
    FROM ({claimant}) AS claimant
    CROSS JOIN (
        SELECT set_config('ledger.lock_timeout_kept', current_setting('lock_timeout'), true),
               set_config('lock_timeout', :wait, true)) AS bounded_wait
    ON CONFLICT (user_id, key) DO NOTHING
    RETURNING id, user_id,
              set_config('lock_timeout', current_setting('ledger.lock_timeout_kept'), true)
    """
# The user known (the view's wrapper, when the key was not claimed with the lookup).
_CLAIM_BY_USER_PG = sa.text(
    _CLAIM_PG.format(claimant="SELECT CAST(:user_id AS bigint) AS user_id")
).bindparams(sa.bindparam("created_at", type_=UTCDateTime()))
# The usual way: run inside the token lookup's statement, as its CTE
# (``claim_with_authentication``). The user is the token's, and only a token that
# authenticates claims anything: revoked, expired or an inactive user's inserts
# nothing (and the request ends in 401).
_CLAIM_BY_TOKEN_PG = sa.text(
    _CLAIM_PG.format(
        claimant="SELECT t.user_id FROM api_tokens AS t JOIN users AS u ON u.id = t.user_id "
        "WHERE t.token_hash = :token_hash AND t.revoked_at IS NULL "
        "AND (t.expires_at IS NULL OR t.expires_at > :created_at) AND u.active"
    )
).bindparams(sa.bindparam("created_at", type_=UTCDateTime()))
# SQLite: one writer at a time (the write lock is taken at BEGIN IMMEDIATE), so a
# conflicting key is always a committed one.
_CLAIM_SQLITE = sa.text(
    """
    INSERT INTO idempotency_keys (user_id, key, method, path, request_hash, created_at)
    VALUES (:user_id, :key, :method, :path, :request_hash, :created_at)
    ON CONFLICT (user_id, key) DO NOTHING
    RETURNING id
    """
).bindparams(sa.bindparam("created_at", type_=UTCDateTime()))
_ANSWER = (
    sa.update(IdempotencyKey.__table__)  # type: ignore[arg-type]
    .where(IdempotencyKey.__table__.c.id == sa.bindparam("key_id"))
    .values(status_code=sa.bindparam("status_code"), response_body=sa.bindparam("body"))
)
# Every money-moving request runs these.
_CLAIM_BY_TOKEN_ROWS = DriverStatement(_CLAIM_BY_TOKEN_PG)
_CLAIM_BY_USER_ROWS = DriverStatement(_CLAIM_BY_USER_PG)
_CLAIM_SQLITE_ROWS = DriverStatement(_CLAIM_SQLITE)
ANSWER = DriverStatement(_ANSWER)


def _claim(session: Session, user_id: int, key: str, fingerprint: str) -> int | None:
    """Insert the key row; its id, or None if the key was taken (and committed)."""
    params = {
        "user_id": user_id,
        "key": key,
        "method": request.method,
        "path": request.path,
        "request_hash": fingerprint,
        "created_at": utcnow(),
    }
    if is_postgresql(session):
        try:
            claim = {**params, "wait": WAIT_FOR_FIRST}
            rows = _CLAIM_BY_USER_ROWS.rows(session, claim)
        except OperationalError as exc:
            if not is_lock_timeout(exc):
                raise
            # lock_timeout: the first request with this key is still at work.
            raise in_progress() from None
    else:
        rows = _CLAIM_SQLITE_ROWS.rows(session, params)
    return int(rows[0][0]) if rows else None


# The largest body whose key is claimed with the token lookup; a larger one (a
# batch file) is claimed by the view's wrapper, after the view's own hooks.
PRECLAIM_MAX_BODY = 64 * 1024
# What the token lookup's statement claimed (``claim_with_authentication``), kept
# on ``g`` for the view's ``idempotent`` wrapper.
_PRECLAIM = "idempotency_preclaim"
# (endpoint, method) -> whether its view is ``idempotent``.
_IDEMPOTENT_VIEWS: dict[tuple[str, str], bool] = {}


def _is_idempotent_view() -> bool:
    endpoint = request.endpoint
    if endpoint is None:
        return False
    found = _IDEMPOTENT_VIEWS.get((endpoint, request.method))
    if found is None:
        view = current_app.view_functions.get(endpoint)
        view_class = getattr(view, "view_class", None)
        if view_class is not None:
            view = getattr(view_class, request.method.lower(), None)
        found = _IDEMPOTENT_VIEWS[(endpoint, request.method)] = bool(
            getattr(view, "_idempotent", False)
        )
    return found


def claim_with_authentication() -> tuple[DriverStatement, dict[str, Any]] | None:
    """The key claim of a money-moving request, to run inside the token lookup's
    statement (PostgreSQL); None when there is nothing to claim that way (a read, no
    usable key: the view's wrapper answers that; SQLite).
    ``claimed_with_authentication`` takes the result."""
    if request.method in ("GET", "HEAD", "OPTIONS") or not _is_idempotent_view():
        return None
    length, limit = request.content_length, request.max_content_length
    if length is None or length > PRECLAIM_MAX_BODY or (limit is not None and length > limit):
        # Not read before the view's own hooks: a batch upload sets a larger limit
        # on the body than the general one (and one round trip is nothing to it).
        return None
    key = (request.headers.get(HEADER) or "").strip()
    if not key or len(key) > 200 or not is_postgresql(db.session):
        return None
    fingerprint = request_fingerprint()
    setattr(g, _PRECLAIM, {"key": key, "fingerprint": fingerprint})
    params = {
        "key": key,
        "method": request.method,
        "path": request.path,
        "request_hash": fingerprint,
        "created_at": utcnow(),
        "wait": WAIT_FOR_FIRST,
    }
    return _CLAIM_BY_TOKEN_ROWS, params


def claimed_with_authentication(rows: list[tuple[Any, ...]] | None) -> None:
    """The claim's rows, or None if the round trip failed because the first request
    with this key is still at work (``lock_timeout``)."""
    preclaim = getattr(g, _PRECLAIM)
    preclaim["rows"] = rows


def is_lock_timeout(exc: BaseException) -> bool:
    return getattr(getattr(exc, "orig", None), "sqlstate", None) == LOCK_NOT_AVAILABLE


def in_progress() -> RequestInProgress:
    """The answer to a request whose key a concurrent request still holds."""
    return RequestInProgress(
        "Another request with this Idempotency-Key is still being processed; retry shortly."
    )


def _preclaimed(user_id: int, key: str) -> tuple[str, int | None] | None:
    """The claim the token lookup made for ``key``: its fingerprint and the key
    row's id (None: taken, and committed); None if no claim was made that way."""
    preclaim = g.pop(_PRECLAIM, None)
    if preclaim is None or preclaim["key"] != key or "rows" not in preclaim:
        return None
    rows = preclaim["rows"]
    if rows is None:
        raise in_progress()
    if rows and rows[0][1] != user_id:  # never: the token is the user's
        return None
    return preclaim["fingerprint"], (int(rows[0][0]) if rows else None)


def idempotent(view: F) -> F:
    """Require ``Idempotency-Key`` on a view that moves money, and make it exactly-once.

    Two statements on the way: the key is claimed before the work, and the answer
    stored after it, both in the request's transaction. On PostgreSQL neither is a
    statement of its own: the claim runs inside the token lookup
    (``claim_with_authentication``), the answer inside the audit chain step, right
    before the COMMIT."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = (request.headers.get(HEADER) or "").strip()
        if not key:
            raise IdempotencyKeyMissing(
                "Money-moving requests need an Idempotency-Key header (e.g. a UUID)."
            )
        if len(key) > 200:
            raise IdempotencyKeyMissing("The Idempotency-Key header is limited to 200 characters.")
        user = current_user()
        session = db.session
        preclaimed = _preclaimed(user.id, key)
        if preclaimed is not None:  # claimed with the token lookup
            fingerprint, key_id = preclaimed
        else:
            fingerprint = request_fingerprint()
            key_id = _claim(session, user.id, key, fingerprint)
        if key_id is None:
            # Another request with this key committed first: answer as it did.
            stored = _find(session, user.id, key)
            assert stored is not None
            return _replay(stored, fingerprint)
        response = view(*args, **kwargs)
        answer = {
            "key_id": key_id,
            "status_code": response.status_code,
            "body": response.get_data(as_text=True),
        }
        # On PostgreSQL, stored right before the COMMIT, inside the audit chain step.
        at_commit(session, ANSWER, answer, independent=True)
        return response

    wrapper._idempotent = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]
