"""Exactly one effect per ``Idempotency-Key`` (SPEC §3.6).

The key is inserted, in the request's own transaction, before the work is done. A
concurrent request with the same key waits on the unique index until the first
commits, then finds the stored answer and replays it; if the first rolled back,
the key is free again and the second does the work. Only successful answers are
stored: a refused request changes nothing, so retrying it is safe.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Response, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from ledger.auth.access import current_user
from ledger.db import db, is_postgresql
from ledger.errors import IdempotencyKeyMissing, IdempotencyKeyReused, RequestInProgress
from ledger.idempotency.models import IdempotencyKey

F = TypeVar("F", bound=Callable[..., Any])

HEADER = "Idempotency-Key"
# How long a duplicate waits for the first request with its key before being told
# that it is still in progress.
WAIT_FOR_FIRST = "10s"

HEADER_DOC = {
    "in": "header",
    "name": HEADER,
    "required": True,
    "description": "A unique key per intended effect (e.g. a UUID). A retry with the same "
    "key and body returns the first answer; the same key with another body is refused.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
}


def _request_fingerprint() -> str:
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


def idempotent(view: F) -> F:
    """Require ``Idempotency-Key`` on a view that moves money, and make it exactly-once."""

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
        fingerprint = _request_fingerprint()
        stored = _find(session, user.id, key)
        if stored is not None:
            return _replay(stored, fingerprint)
        row = IdempotencyKey(
            user_id=user.id,
            key=key,
            method=request.method,
            path=request.path,
            request_hash=fingerprint,
        )
        try:
            with session.begin_nested():
                if is_postgresql(session):
                    session.connection().exec_driver_sql(
                        f"SET LOCAL lock_timeout = '{WAIT_FOR_FIRST}'"
                    )
                session.add(row)
                session.flush()
        except IntegrityError:
            # Another request with this key committed first: answer as it did.
            stored = _find(session, user.id, key)
            assert stored is not None
            return _replay(stored, fingerprint)
        except OperationalError:
            raise RequestInProgress(
                "Another request with this Idempotency-Key is still being processed; retry shortly."
            ) from None
        finally:
            if is_postgresql(session) and session.in_transaction():
                session.connection().exec_driver_sql("SET LOCAL lock_timeout = DEFAULT")
        response = view(*args, **kwargs)
        row.status_code = response.status_code
        row.response_body = response.get_data(as_text=True)
        session.flush()
        return response

    return wrapper  # type: ignore[return-value]
