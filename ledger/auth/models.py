"""Users, their roles, and their API tokens (stored hashed, shown once)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ledger.db import Base, BigId, Timestamp, intpk, utcnow

ROLES = ("admin", "clerk", "committee_member", "treasurer", "compliance", "auditor")


class User(Base):
    __tablename__ = "users"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    institution: Mapped[str | None] = mapped_column(sa.String(100))
    # Where the ledger emails its notifications (ledger/notifications); none: none.
    email: Mapped[str | None] = mapped_column(sa.String(320))
    is_chair: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)

    role_rows: Mapped[list[UserRole]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="UserRole.role"
    )

    @property
    def roles(self) -> list[str]:
        return [r.role for r in self.role_rows]

    def has_role(self, *roles: str) -> bool:
        return any(r.role in roles for r in self.role_rows)


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(30), primary_key=True)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    # Never in an audit event (audit.services.snapshot): the hash looks a token up.
    __audit_omit__ = frozenset({"token_hash"})

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"), index=True)
    # sha256 of the token: tokens carry 256 random bits, so a fast hash is enough
    # and lets every request look its token up by an index.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship(lazy="joined")


class Actor(Protocol):
    """Who does something, as services see them: a ``User`` row, or the caller of
    a request as authenticated (``Caller``)."""

    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...

    @property
    def institution(self) -> str | None: ...

    @property
    def is_chair(self) -> bool: ...

    def has_role(self, *roles: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class Caller:
    """The user a request's token belongs to, as the token lookup read them: their
    row and roles, immutable; not a mapped instance. Nothing in a request changes
    its own caller, and building a ``User`` with its roles into the session cost
    more CPU than the rest of the authentication (docs/benchmarks.md, "Write
    path"). A service that changes a user loads it."""

    id: int
    name: str
    institution: str | None
    is_chair: bool
    active: bool
    created_at: dt.datetime
    roles: tuple[str, ...]

    def has_role(self, *roles: str) -> bool:
        return any(r in roles for r in self.roles)


class Credential(Base):
    """A user's console password (argon2id) and sign-in failures: one row a user,
    apart from ``users`` so that no audit snapshot of a user carries it."""

    __tablename__ = "user_credentials"
    __audit_omit__ = frozenset({"password_hash"})

    user_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"), primary_key=True)
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    password_set_at: Mapped[Timestamp] = mapped_column(default=utcnow)
    failed_attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None]


class Invitation(Base):
    """A one-time link an admin issues (``flask --app wsgi users invite NAME``) with
    which a user sets their console password. Only its sha256 is kept."""

    __tablename__ = "invitations"
    __audit_omit__ = frozenset({"token_hash"})

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)
    expires_at: Mapped[Timestamp]
    used_at: Mapped[dt.datetime | None]
