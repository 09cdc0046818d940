"""Console pages: sign-in, invitations, sign-out and the home page. Each calls the
services the API calls (``ledger.auth.passwords`` here); none holds a rule."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from ledger.auth import passwords
from ledger.db import db
from ledger.errors import NotFound, ValidationFailed
from ledger.problems import flatten_messages

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
)


class SignInForm(FlaskForm):  # type: ignore[misc]
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1000)])


class SetPasswordForm(FlaskForm):  # type: ignore[misc]
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=1000)])
    confirm = PasswordField(
        _l("The same again"),
        validators=[DataRequired(), EqualTo("password", _l("Not the same."))],
    )


class SignOutForm(FlaskForm):  # type: ignore[misc]
    pass


def load_as_the_api(form: FlaskForm, schema: ma.Schema, values: dict[str, Any]) -> Any:
    """``values`` checked by the API's own ``schema``: its answer, or ``None`` with each
    message put on the form's field it names. The refusal, for a flash, is
    ``form.api_refusal``."""
    try:
        return schema.load(values)
    except ma.ValidationError as invalid:
        said = flatten_messages(invalid.messages)
        for name, messages in said.items():
            field = getattr(form, name, None)
            if field is not None:
                field.errors = [*field.errors, *messages]
        form.api_refusal = "; ".join(f"{name}: {' '.join(m)}" for name, m in said.items())
        return None


def allowed(*roles: str) -> None:
    """The signed-in user holds one of ``roles``, or the page answers 403."""
    if not any(role in current_user.roles for role in roles):
        abort(403)


@bp.after_request
def _policy(response: Response) -> Response:
    from ledger.console import CONSOLE_CSP

    response.headers["Content-Security-Policy"] = CONSOLE_CSP
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
@login_required
def home() -> str:
    return render_template("console/home.html", sign_out=SignOutForm())


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Any:
    form = SignInForm()
    if form.validate_on_submit():
        result = passwords.sign_in(db.session, form.name.data, form.password.data)
        if result.user is not None:
            from ledger.console import ConsoleUser

            lang = session.get("lang")
            session.clear()  # a fresh session: no fixation
            if lang is not None:
                session["lang"] = lang
            session.permanent = True
            login_user(ConsoleUser(result.user))
            return redirect(_next_page())
        if result.reason == "locked":
            until = result.locked_until.strftime("%H:%M UTC") if result.locked_until else "-"
            flash(
                _("Too many failed attempts: this account is locked until %(until)s.", until=until),
                "error",
            )
        else:
            flash(_("The name or the password is wrong."), "error")
        return render_template("console/sign_in.html", form=form), 401
    status = 400 if request.method == "POST" else 200
    return render_template("console/sign_in.html", form=form), status


def _next_page() -> str:
    """Where to go after signing in: a page of the console only (never elsewhere)."""
    target = request.args.get("next", "")
    if target.startswith("/console/") and "//" not in target and "\\\\" not in target:
        return target
    return url_for("console.home")


@bp.post("/sign-out")
def sign_out() -> Response:
    form = SignOutForm()
    if not form.validate_on_submit():
        abort(400)
    logout_user()
    lang = session.get("lang")
    session.clear()
    if lang is not None:
        session["lang"] = lang
    return redirect(url_for("console.sign_in"))


@bp.get("/language/<code>")
def language(code: str) -> Response:
    """Show the console in ``code`` (a link on every page); back to the page it was
    chosen on."""
    from ledger.console import LANGUAGES

    if code not in LANGUAGES:
        abort(404)
    session["lang"] = code
    back = request.args.get("next", "")
    if not (back.startswith("/console/") and "//" not in back and "\\" not in back):
        back = url_for("console.home")
    return redirect(back)


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def invitation(token: str) -> Any:
    try:
        invited = passwords.invitation_for(db.session, token)
    except NotFound as exc:
        return render_template("console/message.html", message=exc.detail), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            user = passwords.accept_invitation(db.session, token, form.password.data)
        except ValidationFailed as exc:
            said = (exc.errors or {}).get("password", [exc.detail])
            form.password.errors = [*form.password.errors, *said]
            return render_template("console/invitation.html", form=form, user=invited), 422
        flash(_("Your password is set, %(name)s: sign in with it.", name=user.name), "info")
        return redirect(url_for("console.sign_in"))
    status = 422 if request.method == "POST" else 200
    return render_template("console/invitation.html", form=form, user=invited), status


# Roles as a person reads them (the API's names are the keys).
ROLE_LABELS = {
    "admin": _l("administrator"),
    "clerk": _l("clerk"),
    "committee_member": _l("committee member"),
    "treasurer": _l("treasurer"),
    "compliance": _l("compliance officer"),
    "auditor": _l("auditor"),
}


# States as a person reads them.
STATUS_LABELS = {
    "pending": _l("pending"),
    "approved": _l("approved"),
    "rejected": _l("rejected"),
    "expired": _l("expired"),
    "withdrawn": _l("withdrawn"),
    "cancelled": _l("cancelled"),
    "queued": _l("queued"),
    "running": _l("running"),
    "done": _l("done"),
    "failed": _l("failed"),
    "approve": _l("approve"),
    "reject": _l("reject"),
    # batches
    "submitted": _l("submitted"),
    "posting": _l("posting"),
    "posted": _l("posted"),
    # use reports
    "accepted": _l("accepted"),
    # notifications
    "delivered": _l("delivered"),
}

# What holds a payment (``compliance.payability`` blocks) as a person reads it.
HOLD_LABELS = {
    "restricted": _l("restricted"),
    "related_party_restricted": _l("a related party is restricted"),
    "open_review_case": _l("open review case"),
}


@bp.app_template_filter("status")
def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


@bp.app_template_filter("hold")
def hold_label(reason: str) -> str:
    return str(HOLD_LABELS.get(reason, reason.replace("_", " ")))


@bp.app_template_filter("role")
def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


@bp.app_context_processor
def _who() -> dict[str, Any]:
    from ledger.console import LANGUAGES, RIGHT_TO_LEFT, chosen_language

    lang = chosen_language()
    return {
        "me": current_user,
        "lang": lang,
        "text_direction": "rtl" if lang in RIGHT_TO_LEFT else "ltr",
        "languages": LANGUAGES,
    }
