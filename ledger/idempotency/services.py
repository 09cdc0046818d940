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
import json
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Response, request
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from ledger.auth.access import current_user
from ledger.db import UTCDateTime, db, is_postgresql, utcnow
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
_CLAIM_PG = sa.text(
    """
    INSERT INTO idempotency_keys (user_id, key, method, path, request_hash, created_at)
    SELECT :user_id, :key, :method, :path, :request_hash, :created_at
    FROM (
        SELECT set_config('ledger.lock_timeout_kept', current_setting('lock_timeout'), true),
               set_config('lock_timeout', :wait, true)) AS bounded_wait
    ON CONFLICT (user_id, key) DO NOTHING
    RETURNING id,
              set_config('lock_timeout', current_setting('ledger.lock_timeout_kept'), true)
    """
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
            rows = session.execute(_CLAIM_PG, {**params, "wait": WAIT_FOR_FIRST}).all()
        except OperationalError as exc:
            if not is_lock_timeout(exc):
                raise
            # lock_timeout: the first request with this key is still at work.
            raise in_progress() from None
    else:
        rows = session.execute(_CLAIM_SQLITE, params).all()
    return int(rows[0][0]) if rows else None


def is_lock_timeout(exc: BaseException) -> bool:
    return getattr(getattr(exc, "orig", None), "sqlstate", None) == LOCK_NOT_AVAILABLE


def in_progress() -> RequestInProgress:
    """The answer to a request whose key a concurrent request still holds."""
    return RequestInProgress(
        "Another request with this Idempotency-Key is still being processed; retry shortly."
    )


def idempotent(view: F) -> F:
    """Require ``Idempotency-Key`` on a view that moves money, and make it exactly-once.

    Two statements on the way: the key is claimed before the work, and the answer
    stored after it, both in the request's transaction."""

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
        session.execute(_ANSWER, answer)
        return response

    wrapper._idempotent = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def once(
    session: Session, user_id: int, key: str, act: Callable[[], dict[str, Any]]
) -> tuple[dict[str, Any], bool]:
    """Run ``act`` at most once for this user's ``key`` (a form's own key, made when
    the form was shown): its answer (a JSON object), and whether it was replayed
    from an earlier submission rather than done now. The console's money forms use
    it as the API's ``@idempotent`` uses the header."""
    fingerprint = request_fingerprint()
    key_id = _claim(session, user_id, key, fingerprint)
    if key_id is None:
        stored = _find(session, user_id, key)
        assert stored is not None
        if stored.status_code is None or stored.response_body is None:
            raise in_progress()
        answer: dict[str, Any] = json.loads(stored.response_body)
        return answer, True
    done = act()
    session.execute(_ANSWER, {"key_id": key_id, "status_code": 201, "body": json.dumps(done)})
    return done, False
