"""Telling people what happened: ``notify`` where it happens, ``deliver`` later.

``notify`` is called by the service that does the act, in its transaction: the
notifications it writes and the jobs that deliver them commit with the act, or
vanish with it. ``deliver`` runs in a worker (the ``notification.deliver`` job):
it sends one notification once, logs the attempt, and on a failure sets when to
try again (exponential backoff); the scheduler's ``retry_due`` sends those again.

Who hears of what: each event names its recipients (the members who may vote, the
submitter, the treasurers …); each recipient's choices (``notification_preferences``,
else ``default_enabled``) say on which channels.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import smtplib
import ssl
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa
from flask import current_app
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.audit.services import jsonable, record, snapshot
from ledger.auth.models import Actor, User, UserRole
from ledger.db import db, get_or_404, lock_row, utcnow
from ledger.errors import NotFound, ValidationFailed
from ledger.jobs.services import enqueue
from ledger.notifications.models import (
    CHANNELS,
    Notification,
    NotificationDelivery,
    NotificationPreference,
    WebhookEndpoint,
)
from ledger.notifications.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

DELIVER = "notification.deliver"

# Each kind of event, and the roles it concerns: for them, every channel is on
# unless they turn it off (email only where the user has an address).
EVENT_KINDS: dict[str, tuple[str, ...]] = {
    "vote.awaited": ("committee_member",),
    "request.decided": ("clerk", "committee_member"),
    "payment.refused": ("treasurer", "compliance"),
    "review_case.opened": ("compliance",),
    "review_case.decided": ("compliance",),
    "batch.posted": ("treasurer", "clerk"),
    "batch.stopped": ("treasurer", "clerk"),
    "checkpoint.signed": ("auditor", "admin"),
}

# Where a notification's link leads, by the table of its subject (console pages).
LINKS = {
    "spending_requests": "/console/requests/{id}",
    "batches": "/console/batches/{id}",
    "refusals": "/console/refusals/{id}",
    "review_cases": "/console/review-cases",
    "group_clearances": "/console/review-cases",
    "audit_checkpoints": "/console/audit",
}

# A user's webhook endpoints, at most (each event is posted to every one).
MAX_WEBHOOKS_PER_USER = 10


@dataclass(frozen=True)
class EventSubject:
    """What an event is about: a row (its table and id), a title a person reads,
    and a few facts (JSON-native values) for the webhook's body and the email."""

    type: str
    id: int
    title: str
    facts: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- who and how


def default_enabled(roles: Iterable[str], kind: str) -> bool:
    """Without a choice of the user's: on when the kind concerns one of their roles."""
    return any(role in EVENT_KINDS[kind] for role in roles)


def users_with_roles(session: Session, *roles: str) -> list[int]:
    """The ids of the active users holding any of ``roles``."""
    return list(
        session.scalars(
            select(User.id)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role.in_(roles), User.active.is_(True))
            .distinct()
        )
    )


def link_to(subject: EventSubject) -> str:
    base = str(current_app.config["CONSOLE_BASE_URL"]).rstrip("/")
    path = LINKS.get(subject.type, "/console/").format(id=subject.id)
    return base + path


def notify(
    session: Session,
    kind: str,
    subject: EventSubject,
    recipients: Iterable[int],
    *,
    actor: Actor | None = None,
) -> list[Notification]:
    """Tell ``recipients`` (user ids) that ``kind`` happened to ``subject``: one
    notification per recipient and channel they keep on (email, to their address
    if they have one and SMTP is configured; webhook, to each of their active
    endpoints), each with a ``notification.deliver`` job sent once the caller's
    transaction commits. Inactive users and users with nothing on get nothing."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"no kind of event {kind!r}")
    ids = sorted(set(recipients))
    if not ids:
        return []
    users = session.scalars(
        select(User).where(User.id.in_(ids), User.active.is_(True)).order_by(User.id)
    ).all()
    chosen = {
        (p.user_id, p.channel): p.enabled
        for p in session.scalars(
            select(NotificationPreference).where(
                NotificationPreference.user_id.in_(ids), NotificationPreference.kind == kind
            )
        )
    }
    endpoints: dict[int, list[WebhookEndpoint]] = {}
    for endpoint in session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.user_id.in_(ids), WebhookEndpoint.active.is_(True))
        .order_by(WebhookEndpoint.id)
    ):
        endpoints.setdefault(endpoint.user_id, []).append(endpoint)
    email_on = bool(current_app.config.get("SMTP_HOST"))

    def wants(user: User, channel: str) -> bool:
        return chosen.get((user.id, channel), default_enabled(user.roles, kind))

    common = {
        "event_id": str(uuid.uuid4()),
        "kind": kind,
        "subject_type": subject.type,
        "subject_id": subject.id,
        "title": subject.title[:300],
        "facts": jsonable(subject.facts),
        "link": link_to(subject)[:500],
        "status": "pending",
        "attempts": 0,
        "created_at": utcnow(),
    }
    rows: list[Notification] = []
    for user in users:
        if email_on and user.email and wants(user, "email"):
            rows.append(
                Notification(user_id=user.id, channel="email", address=user.email, **common)
            )
        if wants(user, "webhook"):
            rows += [
                Notification(user_id=user.id, channel="webhook", webhook_id=e.id, **common)
                for e in endpoints.get(user.id, [])
            ]
    if not rows:
        return []
    session.add_all(rows)
    session.flush()
    for row in rows:
        # One job per attempt: the key names it, so an attempt is made once
        # however many schedulers ask for it (``retry_due``).
        enqueue(
            session,
            DELIVER,
            {"notification_id": row.id, "attempt": 1},
            dedupe_key=f"{DELIVER}:{row.id}:1",
        )
    record(
        session,
        actor,
        "notification.queued",
        ("notifications", rows[0].id),
        after={
            "event_id": common["event_id"],
            "kind": kind,
            "subject": [subject.type, subject.id],
            "notifications": [[r.id, r.user_id, r.channel] for r in rows],
        },
    )
    return rows


# ---------------------------------------------------------------- delivering


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    status_code: int | None = None
    error: str | None = None


def backoff(attempt: int) -> dt.timedelta:
    """How long after failed attempt ``attempt`` (1, 2, …) the next one is made:
    ``NOTIFY_RETRY_MIN_SECONDS`` doubled each time, at most ``…_MAX_SECONDS``."""
    config = current_app.config
    low, high = float(config["NOTIFY_RETRY_MIN_SECONDS"]), float(config["NOTIFY_RETRY_MAX_SECONDS"])
    return dt.timedelta(seconds=min(high, low * 2 ** (attempt - 1)))


def webhook_body(notification: Notification) -> bytes:
    """The JSON a webhook posts: the event's kind, id and time, its subject and a
    link, as compact UTF-8 (these exact bytes are signed)."""
    payload = {
        "id": notification.event_id,
        "kind": notification.kind,
        "time": notification.created_at.isoformat(),
        "subject": {
            "type": notification.subject_type,
            "id": notification.subject_id,
            "title": notification.title,
            **({"facts": notification.facts} if notification.facts else {}),
        },
        "link": notification.link,
    }
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def post_webhook(url: str, secret: str, body: bytes) -> Outcome:
    """POST ``body`` to ``url``, signed (``signing``), with a short timeout; any
    2xx answer is delivered. Redirects are not followed: the URL is the one the
    user registered. Proxies from the environment are not used."""
    stamp = str(int(time.time()))  # the transport's clock, not the ledger's
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "reconstruction-aid-ledger",
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: sign(secret, stamp, body),
    }
    timeout = float(current_app.config["WEBHOOK_TIMEOUT_SECONDS"])
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            response = client.post(url, content=body, headers=headers)
    except httpx.HTTPError as error:
        return Outcome(False, None, f"{type(error).__name__}: {error}"[:2000])
    if 200 <= response.status_code < 300:
        return Outcome(True, response.status_code)
    return Outcome(
        False, response.status_code, f"HTTP {response.status_code}: {response.text[:500]}"
    )


_templates = Environment(
    loader=PackageLoader("ledger.notifications"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def email_message(notification: Notification, sender: str) -> EmailMessage:
    """A multipart/alternative email: plain text, and HTML (Jinja, escaped)."""
    context = {
        "title": notification.title,
        "kind": notification.kind,
        "facts": notification.facts,
        "link": notification.link,
        "time": notification.created_at.strftime("%Y-%m-%d %H:%M UTC"),
    }
    message = EmailMessage()
    message["Subject"] = f"[Ledger] {notification.title}"
    message["From"] = sender
    message["To"] = notification.address
    message["Message-ID"] = f"<{notification.event_id}.{notification.id}@ledger>"
    message.set_content(_templates.get_template("email.txt").render(context))
    message.add_alternative(_templates.get_template("email.html").render(context), subtype="html")
    return message


def send_email(message: EmailMessage) -> Outcome:
    """Hand ``message`` to the SMTP server (``SMTP_*``): STARTTLS and a login if
    configured. Accepted: delivered (250)."""
    config = current_app.config
    timeout = float(config["SMTP_TIMEOUT_SECONDS"])
    try:
        with smtplib.SMTP(
            str(config["SMTP_HOST"]), int(config["SMTP_PORT"]), timeout=timeout
        ) as smtp:
            if config.get("SMTP_STARTTLS"):
                smtp.starttls(context=ssl.create_default_context())
            if config.get("SMTP_USERNAME"):
                smtp.login(str(config["SMTP_USERNAME"]), str(config.get("SMTP_PASSWORD") or ""))
            refused = smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as error:
        code = getattr(error, "smtp_code", None)
        return Outcome(False, code, f"{type(error).__name__}: {error}"[:2000])
    if refused:
        return Outcome(False, None, f"refused: {refused}"[:2000])
    return Outcome(True, 250)


def deliver(notification_id: int, attempt: int) -> dict[str, Any]:
    """Make attempt number ``attempt`` to deliver the notification, unless it is
    delivered, given up, or that attempt was made already: a delivered
    notification is never sent again, and each attempt is made once.

    The attempt is claimed in one transaction (its number, and a lease on the next
    attempt's time so that no retry starts meanwhile), made with no transaction
    open, and its outcome logged in another. A worker that dies after sending and
    before logging leaves the lease to run out and the notification to be sent
    again: at least once, so receivers recognise a repeat by its ``id``."""
    config = current_app.config
    with db.transaction() as session:
        notification = lock_row(session, Notification, notification_id)
        if notification.status != "pending" or notification.attempts >= attempt:
            return {"notification_id": notification_id, "attempt": attempt, "skipped": True}
        target, secret = notification.address or "", ""
        if notification.channel == "webhook":
            endpoint = session.get(WebhookEndpoint, notification.webhook_id)
            if endpoint is None or not endpoint.active:
                return _cancel(session, notification, attempt, "the webhook was disabled")
            if not webhook_host_allowed(endpoint.url):
                return _cancel(session, notification, attempt, "the host is not allowed")
            target, secret = endpoint.url, endpoint.secret
        elif not target or not config.get("SMTP_HOST"):
            return _cancel(session, notification, attempt, "no email address or no SMTP server")
        notification.attempts = attempt
        lease = float(config["WEBHOOK_TIMEOUT_SECONDS"]) + float(config["SMTP_TIMEOUT_SECONDS"])
        notification.next_attempt_at = utcnow() + dt.timedelta(seconds=lease + 60)
        channel = notification.channel
        payload: bytes | EmailMessage = (
            webhook_body(notification)
            if channel == "webhook"
            else email_message(notification, str(config["SMTP_FROM"]))
        )

    started = time.monotonic()
    try:
        if isinstance(payload, bytes):
            outcome = post_webhook(target, secret, payload)
        else:
            outcome = send_email(payload)
    except Exception as error:  # whatever went wrong in sending is a failed attempt, logged
        outcome = Outcome(False, None, f"{type(error).__name__}: {error}"[:2000])
    duration_ms = int((time.monotonic() - started) * 1000)

    with db.transaction() as session:
        session.add(
            NotificationDelivery(
                notification_id=notification_id,
                attempt=attempt,
                channel=channel,
                target=target[:2000],
                delivered=outcome.delivered,
                status_code=outcome.status_code,
                error=outcome.error,
                duration_ms=duration_ms,
                attempted_at=utcnow(),
            )
        )
        notification = lock_row(session, Notification, notification_id)
        before = snapshot(notification)
        next_at = None
        if outcome.delivered:
            notification.status, notification.delivered_at = "delivered", utcnow()
            notification.last_error = None
        elif attempt >= int(config["NOTIFY_MAX_ATTEMPTS"]):
            notification.status, notification.last_error = "failed", outcome.error
        else:
            next_at = utcnow() + backoff(attempt)
            notification.last_error = outcome.error
        notification.next_attempt_at = next_at
        if notification.status != "pending":
            record(
                session, None, f"notification.{notification.status}", notification, before=before
            )
        return {
            "notification_id": notification_id,
            "attempt": attempt,
            "delivered": outcome.delivered,
            "status_code": outcome.status_code,
            "next_attempt_at": next_at.isoformat() if next_at else None,
        }


def _cancel(session: Session, notification: Notification, attempt: int, why: str) -> dict[str, Any]:
    before = snapshot(notification)
    notification.status, notification.last_error = "cancelled", why
    notification.next_attempt_at = None
    record(session, None, "notification.cancelled", notification, before=before)
    return {"notification_id": notification.id, "attempt": attempt, "cancelled": why}


def retry_due(session: Session, now: dt.datetime | None = None) -> list[int]:
    """Ask for the next attempt of every pending notification whose time has come
    (a failed attempt's backoff over, or a lease run out): one job per attempt,
    however many schedulers ask (its dedupe key). Returns the notifications' ids."""
    now = now or utcnow()
    due = session.execute(
        select(Notification.id, Notification.attempts)
        .where(
            Notification.status == "pending",
            Notification.attempts > 0,
            Notification.next_attempt_at <= now,
        )
        .order_by(Notification.id)
        .limit(1000)
    ).all()
    for notification_id, attempts in due:
        enqueue(
            session,
            DELIVER,
            {"notification_id": notification_id, "attempt": attempts + 1},
            dedupe_key=f"{DELIVER}:{notification_id}:{attempts + 1}",
        )
    return [row[0] for row in due]


# ---------------------------------------------------------------- choices


def preferences_of(session: Session, user_id: int) -> dict[str, Any]:
    """The user's address and, for every kind of event and channel, whether it is
    on and whether that is the default."""
    user = get_or_404(session, User, user_id)
    chosen = {
        (p.kind, p.channel): p.enabled
        for p in session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id == user.id)
        )
    }
    roles = user.roles
    return {
        "email": user.email,
        "preferences": [
            {
                "kind": kind,
                "channel": channel,
                "enabled": chosen.get((kind, channel), default_enabled(roles, kind)),
                "default": (kind, channel) not in chosen,
            }
            for kind in EVENT_KINDS
            for channel in CHANNELS
        ],
    }


_UNCHANGED: Any = object()


def set_preferences(
    session: Session,
    actor: Actor,
    *,
    choices: Iterable[dict[str, Any]] = (),
    email: str | None = _UNCHANGED,
) -> dict[str, Any]:
    """The actor's own choices: each ``{kind, channel, enabled}`` given is kept (the
    others stay as they were), and their email address if given (``None`` removes
    it). Returns ``preferences_of``."""
    user = get_or_404(session, User, actor.id)
    if email is not _UNCHANGED and email != user.email:
        before = snapshot(user)
        user.email = email
        record(session, actor, "user.email_changed", user, before=before)
    changed = []
    for choice in choices:
        kind, channel, enabled = choice["kind"], choice["channel"], bool(choice["enabled"])
        if kind not in EVENT_KINDS:
            raise ValidationFailed("preferences", f"No kind of event '{kind}'.")
        if channel not in CHANNELS:
            raise ValidationFailed("preferences", f"No channel '{channel}'.")
        row = session.get(NotificationPreference, (user.id, kind, channel))
        if row is None:
            row = NotificationPreference(user_id=user.id, kind=kind, channel=channel)
            session.add(row)
        elif row.enabled == enabled:
            continue
        row.enabled, row.updated_at = enabled, utcnow()
        changed.append([kind, channel, enabled])
    if changed:
        record(
            session,
            actor,
            "notification_preferences.changed",
            ("users", user.id),
            after={"changed": changed},
        )
    session.flush()
    return preferences_of(session, user.id)


# ---------------------------------------------------------------- webhooks


def check_webhook_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValidationFailed("url", "Give an http:// or https:// URL with a host.")
    if parts.username or parts.password:
        raise ValidationFailed("url", "No user or password in the URL: the signature is the proof.")
    if parts.fragment:
        raise ValidationFailed("url", "No #fragment: it is never sent.")
    try:
        parts.port  # noqa: B018  (raises for a port out of range)
    except ValueError:
        raise ValidationFailed("url", "The port must be from 1 to 65535.") from None
    if not webhook_host_allowed(url):
        allowed = ", ".join(current_app.config["WEBHOOK_ALLOWED_HOSTS"])
        raise ValidationFailed("url", f"Webhooks may go only to these hosts: {allowed}.")
    return url


def webhook_host_allowed(url: str) -> bool:
    """Whether ``WEBHOOK_ALLOWED_HOSTS`` (when set) names the URL's host."""
    allowed = {h.lower() for h in current_app.config.get("WEBHOOK_ALLOWED_HOSTS") or ()}
    return not allowed or (urlsplit(url).hostname or "").lower() in allowed


def create_webhook(
    session: Session, actor: Actor, *, url: str, description: str | None = None
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint of the actor's, and its secret: returned this once (it is
    kept to sign with, and never shown again)."""
    check_webhook_url(url)
    active = session.scalar(
        select(sa.func.count())
        .select_from(WebhookEndpoint)
        .where(WebhookEndpoint.user_id == actor.id, WebhookEndpoint.active.is_(True))
    )
    if (active or 0) >= MAX_WEBHOOKS_PER_USER:
        raise ValidationFailed(
            "url", f"At most {MAX_WEBHOOKS_PER_USER} active webhooks a user: disable one first."
        )
    secret = "whsec_" + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint(
        user_id=actor.id, url=url, description=description, secret=secret, active=True
    )
    session.add(endpoint)
    session.flush()
    record(session, actor, "webhook.created", endpoint)
    return endpoint, secret


def disable_webhook(session: Session, actor: Actor, webhook_id: int) -> WebhookEndpoint:
    """Stop posting to one of the actor's endpoints (its pending notifications are
    cancelled when their turn comes). Disabling it again changes nothing."""
    endpoint = session.get(WebhookEndpoint, webhook_id)
    if endpoint is None or endpoint.user_id != actor.id:
        raise NotFound(f"You have no webhook {webhook_id}.")
    if endpoint.active:
        before = snapshot(endpoint)
        endpoint.active, endpoint.disabled_at = False, utcnow()
        record(session, actor, "webhook.disabled", endpoint, before=before)
    return endpoint


def webhooks_of(session: Session, user_id: int) -> list[WebhookEndpoint]:
    return list(
        session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.user_id == user_id)
            .order_by(WebhookEndpoint.id)
        )
    )


def recent_notifications(session: Session, user_id: int, limit: int = 20) -> list[Notification]:
    """The user's latest notifications, newest first (the console's list)."""
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id)
            .order_by(Notification.id.desc())
            .limit(limit)
        )
    )
