"""Notifications, their delivery attempts, each user's choices and webhook endpoints."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ledger.db import Base, BigId, Timestamp, intpk, utcnow

CHANNELS = ("email", "webhook")
# pending: to send (now, or at next_attempt_at after a failure); delivered: sent,
# never again; failed: given up after NOTIFY_MAX_ATTEMPTS; cancelled: nothing to
# send it to any more (its webhook was disabled, its user's address removed).
NOTIFICATION_STATES = ("pending", "delivered", "failed", "cancelled")


class Notification(Base):
    """One event told to one recipient on one channel (and, for a webhook, one of
    the recipient's endpoints)."""

    __tablename__ = "notifications"

    id: Mapped[intpk]
    # Shared by every row of one event: the webhook body's ``id``, which a receiver
    # uses to recognise a delivery it has seen (a retry after a lost answer).
    event_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    user_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"))
    channel: Mapped[str] = mapped_column(sa.String(10))
    webhook_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("webhook_endpoints.id"), index=True
    )
    # The email address as it was when the event happened.
    address: Mapped[str | None] = mapped_column(sa.String(320))
    subject_type: Mapped[str] = mapped_column(sa.String(40))
    subject_id: Mapped[int] = mapped_column(sa.BigInteger)
    title: Mapped[str] = mapped_column(sa.String(300))
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    link: Mapped[str] = mapped_column(sa.String(500))
    status: Mapped[str] = mapped_column(sa.String(10), default="pending")
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)
    delivered_at: Mapped[dt.datetime | None]

    __table_args__ = (
        sa.Index("ix_notifications_user_id", "user_id", "id"),
        sa.Index("ix_notifications_status_next_attempt_at", "status", "next_attempt_at"),
    )


class NotificationDelivery(Base):
    """One attempt to deliver a notification: what the other end answered (an HTTP
    status, or for email 250) or the error, and how long it took."""

    __tablename__ = "notification_deliveries"

    id: Mapped[intpk]
    notification_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("notifications.id"), index=True
    )
    attempt: Mapped[int] = mapped_column(sa.Integer)
    channel: Mapped[str] = mapped_column(sa.String(10))
    # The URL posted to, or the email address: where this attempt went.
    target: Mapped[str] = mapped_column(sa.String(2000))
    delivered: Mapped[bool]
    status_code: Mapped[int | None] = mapped_column(sa.Integer)
    error: Mapped[str | None] = mapped_column(sa.Text)
    duration_ms: Mapped[int] = mapped_column(sa.Integer)
    attempted_at: Mapped[Timestamp] = mapped_column(default=utcnow)


class NotificationPreference(Base):
    """A user's choice for one kind of event on one channel. Without a row, the
    default holds (``services.default_enabled``)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    enabled: Mapped[bool]
    updated_at: Mapped[Timestamp] = mapped_column(default=utcnow)


class WebhookEndpoint(Base):
    """Where a user's webhooks go: a URL, and the secret that signs each body."""

    __tablename__ = "webhook_endpoints"
    # The secret signs; it is shown once, at creation, and never in an audit event.
    __audit_omit__ = frozenset({"secret"})

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"), index=True)
    url: Mapped[str] = mapped_column(sa.String(2000))
    description: Mapped[str | None] = mapped_column(sa.String(200))
    secret: Mapped[str] = mapped_column(sa.String(100))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)
    disabled_at: Mapped[dt.datetime | None]
