"""The admin's pages: users, their roles and institutions, invitations to set a
console password, and API tokens (issue 24, item 6). The API's ``/users`` routes
are the admin's, and so are these pages; each calls what the API or the CLI calls:
``UserCreateSchema`` and ``services.create_user``, ``passwords.invite`` and
``passwords.invitation_link``, ``services.create_token``, ``services.revoke_token``.
An invitation link or a token is shown once, in the answer to the form that made
it (never in the session cookie), and is not kept."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, SelectMultipleField, StringField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from ledger.auth import passwords, services
from ledger.auth.models import ROLES, ApiToken, Credential, User
from ledger.auth.schemas import UserCreateSchema
from ledger.console.views import ROLE_LABELS, allowed, bp, load_as_the_api
from ledger.db import db, get_or_404, utcnow
from ledger.errors import LedgerError
from ledger.problems import settle


class RolesField(SelectMultipleField):  # type: ignore[misc]
    """Roles as checkboxes."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class NewUserForm(FlaskForm):  # type: ignore[misc]
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    roles = RolesField(
        _l("Roles"), choices=[SelectChoice(role, ROLE_LABELS.get(role, role)) for role in ROLES]
    )
    institution = StringField(
        _l("Institution (committee members)"), validators=[Optional(), Length(max=100)]
    )
    is_chair = BooleanField(_l("The committee's chair"))


class ActionForm(FlaskForm):  # type: ignore[misc]
    """A button: invite, issue a token, revoke a token."""


@bp.get("/users")
@login_required
def users() -> str:
    allowed("admin")
    return render_template("console/users.html", **_users_page(NewUserForm()))


@bp.post("/users")
@login_required
def create_user() -> Any:
    allowed("admin")
    form = NewUserForm()
    if not form.validate_on_submit():
        return render_template("console/users.html", **_users_page(form)), 422
    data = load_as_the_api(  # the API's checks, as the API makes them
        form,
        UserCreateSchema(),
        {
            "name": form.name.data.strip(),
            "roles": form.roles.data or [],
            "institution": (form.institution.data or "").strip() or None,
            "is_chair": bool(form.is_chair.data),
        },
    )
    if data is None:
        flash(_("The user was not created: %(why)s", why=form.api_refusal), "error")
        return render_template("console/users.html", **_users_page(form)), 422
    try:
        user = services.create_user(db.session, current_user.user, **data)
    except LedgerError as refused:
        settle(refused, current_user.user)  # as the API does
        flash(refused.detail, "error")
        return render_template("console/users.html", **_users_page(form)), refused.status
    flash(_("User %(name)s is created.", name=user.name), "info")
    return redirect(url_for("console.user_page", user_id=user.id))


@bp.get("/users/<int:user_id>")
@login_required
def user_page(user_id: int) -> str:
    allowed("admin")
    return render_template("console/user.html", **_user_facts(user_id))


@bp.post("/users/<int:user_id>/invite")
@login_required
def invite_user(user_id: int) -> Any:
    allowed("admin")
    if not ActionForm().validate_on_submit():
        return redirect(url_for("console.user_page", user_id=user_id))
    user = get_or_404(db.session, User, user_id)
    try:
        token = passwords.invite(db.session, current_user.user, user_name=user.name)
    except LedgerError as refused:
        settle(refused, current_user.user)
        flash(refused.detail, "error")
        return render_template("console/user.html", **_user_facts(user_id)), refused.status
    link = passwords.invitation_link(token)
    hours = current_app.config["INVITATION_HOURS"]
    return render_template("console/user.html", **_user_facts(user_id), link=link, hours=hours)


@bp.post("/users/<int:user_id>/tokens")
@login_required
def issue_token(user_id: int) -> Any:
    allowed("admin")
    if not ActionForm().validate_on_submit():
        return redirect(url_for("console.user_page", user_id=user_id))
    user = get_or_404(db.session, User, user_id)
    value, token = services.create_token(
        db.session,
        current_user.user,
        user,
        lifetime_days=current_app.config["TOKEN_LIFETIME_DAYS"],
    )
    return render_template(
        "console/user.html", **_user_facts(user_id), new_token=value, new_token_id=token.id
    )


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int) -> Any:
    """As POST /api/v1/tokens/<id>/revoke: any signed-in user at the door; the
    service lets an admin revoke any token and a user their own."""
    if not ActionForm().validate_on_submit():
        return redirect(url_for("console.home"))
    try:
        token = services.revoke_token(db.session, current_user.user, token_id)
    except LedgerError as refused:
        settle(refused, current_user.user)
        return render_template("console/message.html", message=refused.detail), refused.status
    flash(_("Token %(id)s is revoked.", id=token.id), "info")
    if "admin" in current_user.roles:
        return redirect(url_for("console.user_page", user_id=token.user_id))
    return redirect(url_for("console.home"))


def _users_page(form: NewUserForm) -> dict[str, Any]:
    session = db.session
    everyone = session.scalars(select(User).order_by(User.name)).all()
    credentials = {c.user_id: c for c in session.scalars(select(Credential))}
    institutions: dict[str, list[User]] = {}
    for user in everyone:
        if user.institution:
            institutions.setdefault(user.institution, []).append(user)
    return {
        "users": [
            {
                "user": user,
                "password_set_at": (
                    credentials[user.id].password_set_at if user.id in credentials else None
                ),
            }
            for user in everyone
        ],
        "institutions": sorted(institutions.items()),
        "form": form,
    }


def _user_facts(user_id: int) -> dict[str, Any]:
    session = db.session
    user = get_or_404(session, User, user_id)
    tokens = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
    ).all()
    return {
        "user": user,
        "credential": session.get(Credential, user.id),
        "tokens": tokens,
        "now": utcnow(),
        "action": ActionForm(),
    }
