"""Token creation and lookup. Tokens are random, shown once, stored as sha256."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from ledger.auth.models import ApiToken, User, UserRole
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


def authenticate(session: Session, token: str) -> User | None:
    """The active user a valid, unexpired, unrevoked token belongs to, or None.

    The user is put into ``session`` as if the ORM had loaded it, roles included
    (``merge(load=False)``: no further query)."""
    rows = session.connection().execute(_LOOKUP, {"token_hash": hash_token(token)}).all()
    if not rows:
        return None
    row = rows[0]
    if row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= utcnow():
        return None
    if not row.active:
        return None
    user = User(
        id=row.id,
        name=row.name,
        institution=row.institution,
        is_chair=row.is_chair,
        active=row.active,
        created_at=row.created_at,
    )
    roles = [UserRole(user_id=row.id, role=r.role) for r in rows if r.role is not None]
    for loaded in (user, *roles):
        make_transient_to_detached(loaded)
    set_committed_value(user, "role_rows", roles)
    return session.merge(user, load=False)
