"""Token creation and lookup. Tokens are random, shown once, stored as sha256."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ledger.auth.models import ApiToken, Caller, User, UserRole
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


# Every request makes this lookup: the token, its user and the user's roles, in
# one Core query (a row per role). The ORM's joined eager load of the same costs
# about 0.5 ms of CPU more per request (docs/benchmarks.md, "Write path").
_LOOKUP = (
    select(
        User.id,
        User.name,
        User.institution,
        User.is_chair,
        User.active,
        User.created_at,
        ApiToken.revoked_at,
        ApiToken.expires_at,
        UserRole.role,
    )
    .join(ApiToken, ApiToken.user_id == User.id)
    .outerjoin(UserRole, UserRole.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
    .order_by(UserRole.role)
)


def authenticate(session: Session, token: str) -> Caller | None:
    """The active user a valid, unexpired, unrevoked token belongs to, with their
    roles, or None."""
    rows = session.execute(_LOOKUP, {"token_hash": hash_token(token)}).all()
    return _caller_from([tuple(row) for row in rows])


def _caller_from(rows: list[tuple[Any, ...]]) -> Caller | None:
    if not rows:
        return None
    user_id, name, institution, is_chair, active, created_at, revoked_at, expires_at, _ = rows[0]
    if revoked_at is not None:
        return None
    if expires_at is not None and expires_at <= utcnow():
        return None
    if not active:
        return None
    roles = [r[-1] for r in rows if r[-1] is not None]
    return caller(user_id, name, institution, is_chair, active, created_at, roles)


def caller(
    user_id: int,
    name: str,
    institution: str | None,
    is_chair: bool,
    active: bool,
    created_at: dt.datetime,
    roles: list[str],
) -> Caller:
    """The request's caller from its user's row and roles, as a lookup read them."""
    return Caller(
        id=user_id,
        name=name,
        institution=institution,
        is_chair=is_chair,
        active=active,
        created_at=created_at.astimezone(dt.UTC),
        roles=tuple(roles),
    )
