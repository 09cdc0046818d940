"""Console pages: sign-in, invitations, sign-out and the home page. Each calls the
services the API calls (``ledger.auth.passwords`` here); none holds a rule."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from ledger.auth import passwords
from ledger.db import db
from ledger.errors import NotFound, ValidationFailed

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
)


class SignInForm(FlaskForm):  # type: ignore[misc]
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1000)])


class SetPasswordForm(FlaskForm):  # type: ignore[misc]
    password = PasswordField("New password", validators=[DataRequired(), Length(max=1000)])
    confirm = PasswordField(
        "The same again", validators=[DataRequired(), EqualTo("password", "Not the same.")]
    )


class SignOutForm(FlaskForm):  # type: ignore[misc]
    pass


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

            session.clear()  # a fresh session: no fixation
            session.permanent = True
            login_user(ConsoleUser(result.user))
            return redirect(_next_page())
        if result.reason == "locked":
            until = result.locked_until.strftime("%H:%M UTC") if result.locked_until else "later"
            flash(f"Too many failed attempts: this account is locked until {until}.", "error")
        else:
            flash("The name or the password is wrong.", "error")
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
    session.clear()
    return redirect(url_for("console.sign_in"))


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
        flash(f"Your password is set, {user.name}: sign in with it.", "info")
        return redirect(url_for("console.sign_in"))
    status = 422 if request.method == "POST" else 200
    return render_template("console/invitation.html", form=form, user=invited), status


@bp.app_context_processor
def _who() -> dict[str, Any]:
    return {"me": current_user}
