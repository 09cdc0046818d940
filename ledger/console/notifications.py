"""The signed-in user's notifications page: their choices (a form of checkboxes,
and their email address), their latest notifications and their webhooks. Each form
calls what the API's ``/me/notification-preferences`` and ``/me/webhooks`` call
(``notifications.services``); a webhook's secret is shown once, in the answer to
the form that made it."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length, Optional

from ledger.console.views import bp
from ledger.db import db
from ledger.errors import LedgerError
from ledger.notifications import services
from ledger.notifications.models import CHANNELS
from ledger.notifications.schemas import PreferencesUpdateSchema, WebhookCreateSchema
from ledger.problems import flatten_messages, settle

KIND_LABELS = {
    "vote.awaited": _l("A spending request awaits my vote"),
    "request.decided": _l("A spending request was decided"),
    "payment.refused": _l("A payment was refused"),
    "review_case.opened": _l("A review case was opened"),
    "review_case.decided": _l("A review case was decided"),
    "batch.posted": _l("A batch was posted"),
    "batch.stopped": _l("A batch's posting stopped"),
    "checkpoint.signed": _l("An audit checkpoint was signed"),
}
CHANNEL_LABELS = {"email": _l("Email"), "webhook": _l("Webhook")}


class PreferencesForm(FlaskForm):  # type: ignore[misc]
    """The email address; the checkboxes are read from the form by their names."""

    email = StringField(_l("Email address"), validators=[Optional(), Length(max=320)])


class WebhookForm(FlaskForm):  # type: ignore[misc]
    url = StringField(_l("URL"), validators=[Optional(), Length(max=2000)])
    description = StringField(_l("Description"), validators=[Optional(), Length(max=200)])


class ActionForm(FlaskForm):  # type: ignore[misc]
    """A button: disable a webhook."""


def _page(**extra: Any) -> dict[str, Any]:
    session = db.session
    user_id = current_user.id
    choices = services.preferences_of(session, user_id)
    form = extra.pop("form", None) or PreferencesForm(email=choices["email"])
    return {
        "form": form,
        "webhook_form": extra.pop("webhook_form", None) or WebhookForm(),
        "action": ActionForm(),
        "on": {(p["kind"], p["channel"]) for p in choices["preferences"] if p["enabled"]},
        "kinds": KIND_LABELS,
        "channels": CHANNEL_LABELS,
        "notifications": services.recent_notifications(session, user_id),
        "webhooks": services.webhooks_of(session, user_id),
        **extra,
    }


def _invalid(invalid: ma.ValidationError) -> str:
    said = flatten_messages(invalid.messages)
    return "; ".join(f"{name}: {' '.join(m)}" for name, m in said.items())


@bp.get("/notifications")
@login_required
def notifications() -> str:
    return render_template("console/notifications.html", **_page())


@bp.post("/notifications/preferences")
@login_required
def save_preferences() -> Any:
    form = PreferencesForm()
    if not form.validate_on_submit():
        return render_template("console/notifications.html", **_page(form=form)), 422
    ticked = set(request.form.getlist("on"))
    body = {
        "email": (form.email.data or "").strip() or None,
        "preferences": [
            {"kind": kind, "channel": channel, "enabled": f"{kind}:{channel}" in ticked}
            for kind in services.EVENT_KINDS
            for channel in CHANNELS
        ],
    }
    try:
        data = PreferencesUpdateSchema().load(body)  # the API's checks
        services.set_preferences(
            db.session, current_user.user, choices=data["preferences"], email=data["email"]
        )
    except ma.ValidationError as invalid:
        said = flatten_messages(invalid.messages)
        form.email.errors = [*form.email.errors, *said.get("email", [])]
        flash(_("Nothing was changed: %(why)s", why=_invalid(invalid)), "error")
        return render_template("console/notifications.html", **_page(form=form)), 422
    except LedgerError as refused:
        settle(refused, current_user.user)
        flash(refused.detail, "error")
        return render_template("console/notifications.html", **_page()), refused.status
    flash(_("Your choices are saved."), "info")
    return redirect(url_for("console.notifications"))


@bp.post("/notifications/webhooks")
@login_required
def add_webhook() -> Any:
    form = WebhookForm()
    if not form.validate_on_submit():
        return render_template("console/notifications.html", **_page(webhook_form=form)), 422
    try:
        data = WebhookCreateSchema().load(
            {
                "url": (form.url.data or "").strip(),
                "description": (form.description.data or "").strip() or None,
            }
        )
        endpoint, secret = services.create_webhook(db.session, current_user.user, **data)
    except ma.ValidationError as invalid:
        flash(_("The webhook was not added: %(why)s", why=_invalid(invalid)), "error")
        return render_template("console/notifications.html", **_page(webhook_form=form)), 422
    except LedgerError as refused:
        settle(refused, current_user.user)
        flash(refused.detail, "error")
        page = _page(webhook_form=form)
        return render_template("console/notifications.html", **page), refused.status
    return render_template(
        "console/notifications.html", **_page(new_secret=secret, new_webhook=endpoint)
    )


@bp.post("/notifications/webhooks/<int:webhook_id>/disable")
@login_required
def disable_webhook(webhook_id: int) -> Any:
    if not ActionForm().validate_on_submit():
        return redirect(url_for("console.notifications"))
    try:
        services.disable_webhook(db.session, current_user.user, webhook_id)
    except LedgerError as refused:
        settle(refused, current_user.user)
        return render_template("console/message.html", message=refused.detail), refused.status
    flash(_("The webhook is disabled."), "info")
    return redirect(url_for("console.notifications"))
