"""Console passwords: set through a one-time invitation, hashed with argon2id,
checked with a lockout after repeated failures.

Scripts keep their API tokens (``auth.tokens``); a password only opens a console
session. An admin invites a user (``flask --app wsgi users invite NAME``, or the
console's admin page): the link carries a random token shown once, of which only
the sha256 is kept; whoever opens it before it expires sets the password, and the
link is spent. ``INVITATION_HOURS``, ``PASSWORD_MIN_LENGTH``,
``SIGN_IN_MAX_FAILURES`` and ``SIGN_IN_LOCKOUT_MINUTES`` are in the config.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.audit.services import record
from ledger.auth.models import Actor, Credential, Invitation, User
from ledger.db import lock_row, utcnow
from ledger.errors import NotFound, ValidationFailed

# argon2id, with the library's current recommended parameters.
_HASHER = PasswordHasher()
_SPENT = "This invitation link is unknown, used or expired: ask an admin for a new one."


def _setting(name: str, default: int) -> int:
    return int(current_app.config[name]) if has_app_context() else default


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(session: Session, actor: Actor | None, *, user_name: str) -> str:
    """A one-time token with which ``user_name`` sets their console password; the
    only time it is seen. Earlier unused invitations of the user stay valid until
    they expire."""
    user = session.scalars(select(User).where(User.name == user_name)).first()
    if user is None or not user.active:
        raise NotFound(f"No active user named '{user_name}'.")
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        user_id=user.id,
        token_hash=_digest(token),
        expires_at=utcnow() + dt.timedelta(hours=_setting("INVITATION_HOURS", 72)),
    )
    session.add(invitation)
    session.flush()
    record(session, actor, "user.invited", invitation)
    return token


def invitation_link(token: str) -> str:
    """The address at which an invitation's ``token`` is opened: the console's
    invitation page under ``CONSOLE_BASE_URL`` (printed by the CLI, shown once by
    the console's admin page)."""
    base = str(current_app.config["CONSOLE_BASE_URL"]).rstrip("/")
    return f"{base}/console/invitations/{token}"


def invitation_for(session: Session, token: str) -> Invitation:
    """The unspent, unexpired invitation of ``token``, or a 404 that says no more
    (an attacker learns nothing about which links exist)."""
    invitation = session.scalars(
        select(Invitation).where(Invitation.token_hash == _digest(token))
    ).first()
    if invitation is None or invitation.used_at is not None or invitation.expires_at <= utcnow():
        raise NotFound(
            "This invitation link is unknown, used or expired: ask an admin for a new one."
        )
    return invitation


def check_password_rule(password: str) -> None:
    """At least ``PASSWORD_MIN_LENGTH`` characters, and not one character repeated."""
    least = _setting("PASSWORD_MIN_LENGTH", 12)
    if len(password) < least:
        raise ValidationFailed("password", f"At least {least} characters.")
    if len(set(password)) < 4:
        raise ValidationFailed("password", "Not a few characters repeated.")


def accept_invitation(session: Session, token: str, password: str) -> User:
    """Set the invited user's password and spend the link."""
    invitation = invitation_for(session, token)
    invitation = lock_row(session, Invitation, invitation.id)
    if invitation.used_at is not None:
        raise NotFound(
            "This invitation link is unknown, used or expired: ask an admin for a new one."
        )
    user = session.get(User, invitation.user_id)
    assert user is not None
    set_password(session, user, password)
    invitation.used_at = utcnow()
    record(session, user, "user.password_set", ("users", user.id))
    return user


def _locked(session: Session, user_id: int) -> Credential:
    """The user's credential row, locked: concurrent attempts count one by one."""
    return session.scalars(
        select(Credential)
        .where(Credential.user_id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


@dataclass(frozen=True)
class SignIn:
    user: User | None
    reason: str | None = None  # why not: "wrong", "locked"
    locked_until: dt.datetime | None = None


def sign_in(session: Session, name: str, password: str) -> SignIn:
    """Check ``password`` for ``name``. After ``SIGN_IN_MAX_FAILURES`` failures in a
    row the account is locked for ``SIGN_IN_LOCKOUT_MINUTES`` (a right password
    included); a success resets the count. An unknown name costs the same hashing
    as a known one, so timing tells nothing."""
    user = session.scalars(select(User).where(User.name == name)).first()
    credential = session.get(Credential, user.id) if user is not None and user.active else None
    if credential is None:
        _HASHER.hash(password)  # the same work as a check
        return SignIn(None, "wrong")
    credential = _locked(session, credential.user_id)
    now = utcnow()
    if credential.locked_until is not None and credential.locked_until > now:
        return SignIn(None, "locked", credential.locked_until)
    try:
        _HASHER.verify(credential.password_hash, password)
    except (VerificationError, InvalidHashError):
        credential.failed_attempts += 1
        if credential.failed_attempts >= _setting("SIGN_IN_MAX_FAILURES", 5):
            minutes = _setting("SIGN_IN_LOCKOUT_MINUTES", 15)
            credential.locked_until = now + dt.timedelta(minutes=minutes)
            credential.failed_attempts = 0
            record(session, None, "user.locked_out", ("users", credential.user_id))
            return SignIn(None, "locked", credential.locked_until)
        return SignIn(None, "wrong")
    credential.failed_attempts, credential.locked_until = 0, None
    if _HASHER.check_needs_rehash(credential.password_hash):
        credential.password_hash = _HASHER.hash(password)
    return SignIn(user)


def set_password(session: Session, user: User, password: str) -> None:
    """Hash and keep ``user``'s password (the rule checked first), clearing its
    failed attempts. Users set theirs through an invitation (``accept_invitation``);
    the demo data sets its users' directly."""
    check_password_rule(password)
    credential = session.get(Credential, user.id)
    if credential is None:
        credential = Credential(user_id=user.id, password_hash="")
        session.add(credential)
    credential.password_hash = _HASHER.hash(password)
    credential.password_set_at = utcnow()
    credential.failed_attempts, credential.locked_until = 0, None
