"""Who is calling, and what their roles let them do."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request
from sqlalchemy.exc import OperationalError

from ledger.auth.models import Caller
from ledger.auth.tokens import authenticate, authenticate_with
from ledger.db import db
from ledger.errors import Forbidden, Unauthenticated
from ledger.ops.ratelimit import auth_failures

F = TypeVar("F", bound=Callable[..., Any])


def load_user() -> None:
    """Before each request: resolve ``Authorization: Bearer <token>`` into ``g.user``."""
    g.user = None
    header = request.headers.get("Authorization")
    if not header:
        return
    # A client that failed too often is refused before its token is even looked
    # up, so that it cannot go on learning which tokens are valid.
    guard = auth_failures()
    guard.check()
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        guard.failed()
        raise Unauthenticated("The Authorization header must read 'Bearer <token>'.")
    user = _authenticate(token.strip())
    if user is None:
        guard.failed()
        raise Unauthenticated("The token is unknown, expired or revoked.")
    g.user = user
    g.user_id = user.id
    db.session.info["actor_id"] = user.id


def _authenticate(token: str) -> Caller | None:
    # Not at the top: the idempotency module needs this one's current_user.
    from ledger.idempotency.services import (
        claim_with_authentication,
        claimed_with_authentication,
        is_lock_timeout,
    )

    session = db.session
    claim = claim_with_authentication()
    if claim is None:
        return authenticate(session, token)
    # A money-moving request: its Idempotency-Key is claimed by the lookup's statement.
    try:
        user, claimed = authenticate_with(session, token, *claim)
    except OperationalError as exc:
        if not is_lock_timeout(exc):
            raise
        # The first request with this key is still at work: that is this request's
        # answer (409), once the caller is known and allowed, as without the claim.
        session.rollback()
        claimed_with_authentication(None)
        return authenticate(session, token)
    claimed_with_authentication(claimed)
    return user


def current_user() -> Caller:
    """The request's caller (``auth.models.Caller``: their row and roles as the
    token lookup read them; not a mapped ``User``)."""
    user: Caller | None = getattr(g, "user", None)
    if user is None:
        raise Unauthenticated("This operation needs 'Authorization: Bearer <token>'.")
    return user


def requires(*roles: str, read: bool = False) -> Callable[[F], F]:
    """Let the view run only for a user holding one of ``roles``.

    ``read=True`` marks a read that auditors may also make (they read everything)."""
    allowed = set(roles) | ({"auditor", "admin"} if read else set())

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if not user.has_role(*allowed):
                raise Forbidden(
                    f"This operation needs one of the roles: {', '.join(sorted(allowed))}."
                )
            return view(*args, **kwargs)

        wrapper._roles = sorted(allowed)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator
