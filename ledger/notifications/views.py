"""Notifications: each user's own, their choices and webhooks; every delivery
attempt for admins."""

from typing import Any

from flask.views import MethodView
from sqlalchemy import select

from ledger.api import Blueprint, PageArgs, page_of, paginate, problems
from ledger.auth.access import current_user, requires
from ledger.auth.models import ROLES
from ledger.db import db
from ledger.errors import NotFound, ValidationFailed
from ledger.notifications import services
from ledger.notifications.models import Notification, NotificationDelivery, WebhookEndpoint
from ledger.notifications.schemas import (
    DeliveryListArgs,
    DeliverySchema,
    NewWebhookSchema,
    NotificationListArgs,
    NotificationSchema,
    PreferencesSchema,
    PreferencesUpdateSchema,
    WebhookCreateSchema,
    WebhookSchema,
)

blp = Blueprint(
    "notifications",
    __name__,
    description="Notifications by email and signed webhook: what each user chooses to "
    "receive, what was sent, every delivery attempt",
)


@blp.route("/notifications")
class Notifications(MethodView):
    @requires(*ROLES)
    @blp.arguments(NotificationListArgs, location="query")
    @blp.response(200, page_of(NotificationSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The caller's own notifications, oldest first, by kind or status."""
        stmt = select(Notification).where(Notification.user_id == current_user().id)
        for key in ("kind", "status"):
            if key in args:
                stmt = stmt.where(getattr(Notification, key) == args[key])
        return paginate(db.session, stmt, Notification.id, args)


@blp.route("/notifications/deliveries")
class Deliveries(MethodView):
    @requires("admin")
    @blp.arguments(DeliveryListArgs, location="query")
    @blp.response(200, page_of(DeliverySchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Every attempt to deliver a notification: where it went, what the other end
        answered (HTTP status, or SMTP's 250) or the error, how long it took, and
        which attempt it was. A failed attempt is tried again with backoff."""
        stmt = select(NotificationDelivery)
        if "notification_id" in args:
            stmt = stmt.where(NotificationDelivery.notification_id == args["notification_id"])
        if "delivered" in args:
            stmt = stmt.where(NotificationDelivery.delivered.is_(args["delivered"]))
        return paginate(db.session, stmt, NotificationDelivery.id, args)


@blp.route("/me/notification-preferences")
class Preferences(MethodView):
    @blp.response(200, PreferencesSchema)
    def get(self) -> dict[str, Any]:
        """The caller's email address and, for each kind of event and channel,
        whether they receive it. Without a choice of theirs, what concerns their
        roles is on (email only goes to an address)."""
        return services.preferences_of(db.session, current_user().id)

    @requires(*ROLES)  # any user, before the body is read
    @problems(blp, ValidationFailed)
    @blp.arguments(PreferencesUpdateSchema)
    @blp.response(200, PreferencesSchema)
    def put(self, data: dict[str, Any]) -> dict[str, Any]:
        """Change the caller's choices (those given; the others stay) and, if given,
        their email address (null removes it)."""
        kwargs: dict[str, Any] = {"choices": data["preferences"]}
        if "email" in data:
            kwargs["email"] = data["email"]
        return services.set_preferences(db.session, current_user(), **kwargs)


@blp.route("/me/webhooks")
class Webhooks(MethodView):
    @requires(*ROLES)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(WebhookSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The caller's webhook endpoints (never their secrets)."""
        stmt = select(WebhookEndpoint).where(WebhookEndpoint.user_id == current_user().id)
        return paginate(db.session, stmt, WebhookEndpoint.id, args)

    @requires(*ROLES)  # any user, before the body is read
    @problems(blp, ValidationFailed)
    @blp.arguments(WebhookCreateSchema)
    @blp.response(201, NewWebhookSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Add an endpoint: each notification the caller receives by webhook is
        POSTed there as JSON, signed with the secret returned here, this once."""
        endpoint, secret = services.create_webhook(db.session, current_user(), **data)
        return {"webhook": endpoint, "secret": secret}


@blp.route("/me/webhooks/<int:webhook_id>/disable")
class DisableWebhook(MethodView):
    @problems(blp, NotFound)
    @blp.response(200, WebhookSchema)
    def post(self, webhook_id: int) -> WebhookEndpoint:
        """Stop posting to one of the caller's endpoints; its pending deliveries
        are cancelled."""
        return services.disable_webhook(db.session, current_user(), webhook_id)
