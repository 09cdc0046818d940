"""Token creation and lookup. Tokens are random, shown once, stored as sha256."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ledger.auth.models import ApiToken, User
from ledger.db import utcnow

TOKEN_PREFIX = "ldg_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    session: Session,
    user: User,
    *,
    lifetime_days: int | None = None,
    token: str | None = None,
) -> str:
    """Create a token for ``user`` and return it: the only time it is ever seen.

    ``token`` fixes the value (demo data only, so that documented examples work)."""
    value = token or TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = utcnow() + dt.timedelta(days=lifetime_days) if lifetime_days else None
    session.add(
        ApiToken(user=user, token_hash=hash_token(value), prefix=value[:8], expires_at=expires)
    )
    session.flush()
    return value


def authenticate(session: Session, token: str) -> User | None:
    """The active user a valid, unexpired, unrevoked token belongs to, or None."""
    # One query: the token, its user and the user's roles (every request makes it).
    row = (
        session.scalars(
            select(ApiToken)
            .where(ApiToken.token_hash == hash_token(token))
            .options(joinedload(ApiToken.user).joinedload(User.role_rows))
        )
        .unique()
        .first()
    )
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= utcnow():
        return None
    if not row.user.active:
        return None
    return row.user
