"""Who is calling, and what their roles let them do."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request

from ledger.auth.models import Caller
from ledger.auth.tokens import authenticate
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
    guard = auth_failures()
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        guard.failed(None)
        raise Unauthenticated("The Authorization header must read 'Bearer <token>'.")
    # A token that keeps failing is refused before it is looked up again; a valid
    # token is never refused for others' failures (ledger/ops/ratelimit.py).
    guard.check_credential(token)
    user = authenticate(db.session, token)
    if user is None:
        guard.failed(token)
        raise Unauthenticated("The token is unknown, expired or revoked.")
    g.user = user
    g.user_id = user.id
    db.session.info["actor_id"] = user.id


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
