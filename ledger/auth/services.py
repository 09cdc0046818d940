"""Creating users and managing their tokens."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.audit.services import record, snapshot
from ledger.auth.models import Actor, ApiToken, User, UserRole
from ledger.auth.tokens import issue_token
from ledger.db import get_or_404, utcnow
from ledger.errors import Conflict, Forbidden


def create_user(
    session: Session,
    actor: Actor | None,
    *,
    name: str,
    roles: list[str],
    institution: str | None = None,
    is_chair: bool = False,
    email: str | None = None,
) -> User:
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise Conflict(f"A user named '{name}' exists already.")
    user = User(
        name=name,
        institution=institution,
        email=email,
        is_chair=is_chair,
        role_rows=[UserRole(role=r) for r in sorted(set(roles))],
    )
    session.add(user)
    session.flush()
    after = snapshot(user)
    after["roles"] = user.roles
    record(session, actor, "user.created", user, after=after)
    return user


def create_token(
    session: Session, actor: Actor | None, user: User, *, lifetime_days: int | None
) -> tuple[str, ApiToken]:
    """Issue a token: returned once, kept only as a hash."""
    value = issue_token(session, user, lifetime_days=lifetime_days)
    token = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
    ).first()
    assert token is not None
    record(session, actor, "token.issued", token)
    return value, token


def revoke_token(session: Session, actor: Actor, token_id: int) -> ApiToken:
    """Revoke a token: an admin may revoke any, a user their own."""
    token = get_or_404(session, ApiToken, token_id)
    if token.user_id != actor.id and not actor.has_role("admin"):
        raise Forbidden("Only an admin may revoke another user's token.")
    if token.revoked_at is None:
        before = snapshot(token)
        token.revoked_at = utcnow()
        record(session, actor, "token.revoked", token, before=before)
    return token
