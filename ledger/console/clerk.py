"""The clerk's request submission and everyone's list of spending requests (issue
24). A submission goes through the API's own checks (``SpendingRequestCreateSchema``)
and its service (``committee.services.submit_request``); a refusal, such as a
restricted payee, is kept as through the API and shown with its reason. The list
filters by status as ``GET /spending-requests`` does (``status_filter``)."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from ledger.api import parse_money
from ledger.committee import services
from ledger.committee.models import REQUEST_STATES, SpendingRequest
from ledger.committee.schemas import SpendingRequestCreateSchema
from ledger.committee.views import status_filter
from ledger.console.committee import READERS
from ledger.console.views import allowed, bp, load_as_the_api, status_label
from ledger.db import db
from ledger.errors import LedgerError
from ledger.funding.models import Fund
from ledger.money import Money
from ledger.payees.models import Payee
from ledger.problems import settle
from ledger.projects.models import Project

PAGE = 100  # requests a page of the list


class RequestForm(FlaskForm):  # type: ignore[misc]
    fund_id = SelectField(_l("Fund"), validators=[DataRequired()])
    project_id = SelectField(_l("Project"), validators=[DataRequired()])
    payee_id = SelectField(_l("Payee"), validators=[DataRequired()])
    amount = StringField(_l("Amount"), validators=[DataRequired(), Length(max=30)])
    currency = StringField(_l("Currency"), validators=[DataRequired(), Length(max=3)])
    fx_rate = StringField(
        _l("Rate to the fund's base currency (only for another currency)"),
        validators=[Optional(), Length(max=30)],
    )
    purpose = TextAreaField(_l("Purpose"), validators=[DataRequired(), Length(max=2000)])


def _request_form() -> RequestForm:
    """The form, its selects filled from the database: projects grouped by fund."""
    session = db.session
    form = RequestForm()
    funds = session.scalars(select(Fund).order_by(Fund.name)).all()
    form.fund_id.choices = [SelectChoice(str(f.id), f"{f.name} ({f.base_currency})") for f in funds]
    form.project_id.choices = [
        SelectChoice(str(p.id), p.name, optgroup=p.fund.name)
        for p in session.scalars(select(Project).order_by(Project.fund_id, Project.name))
    ]
    form.payee_id.choices = [
        SelectChoice(str(p.id), f"{p.name} ({p.country})")
        for p in session.scalars(select(Payee).order_by(Payee.name))
    ]
    if not form.is_submitted() and funds:
        form.currency.data = funds[0].base_currency
    return form


@bp.route("/requests/new", methods=["GET", "POST"])
@login_required
def new_request() -> Any:
    allowed("clerk")
    form = _request_form()
    if not form.is_submitted():
        return render_template("console/new_request.html", form=form)
    if not form.validate():
        return render_template("console/new_request.html", form=form), 422
    data = load_as_the_api(  # the API's checks, as the API makes them
        form,
        SpendingRequestCreateSchema(),
        {
            "fund_id": int(form.fund_id.data),
            "project_id": int(form.project_id.data),
            "payee_id": int(form.payee_id.data),
            "amount": form.amount.data.strip(),
            "currency": form.currency.data.strip().upper(),
            "fx_rate": (form.fx_rate.data or "").strip() or None,
            "purpose": form.purpose.data.strip(),
        },
    )
    if data is None:
        flash(_("The request was not submitted: %(why)s", why=form.api_refusal), "error")
        return render_template("console/new_request.html", form=form), 422
    try:
        submitted = services.submit_request(
            db.session,
            current_user.user,
            current_app.extensions["ledger.quorum_policy"],
            fund_id=data["fund_id"],
            project_id=data["project_id"],
            payee_id=data["payee_id"],
            amount=parse_money(data),
            purpose=data["purpose"],
            fx_rate=data["fx_rate"],
            expiry_days=current_app.config["REQUEST_EXPIRY_DAYS"],
        )
    except LedgerError as refused:
        settle(refused, current_user.user)  # as the API does: the refusal is kept
        flash(refused.detail, "error")
        for name, messages in (refused.errors or {}).items():
            field = getattr(form, name, None)
            if field is not None:
                field.errors = [*field.errors, *messages]
        return render_template("console/new_request.html", form=form), refused.status
    flash(_("Spending request %(id)s is submitted to the committee.", id=submitted.id), "info")
    return redirect(url_for("console.request_page", request_id=submitted.id))


@bp.get("/requests")
@login_required
def requests_list() -> str:
    """Every spending request, the newest first, by status if one is chosen."""
    allowed(*READERS)
    session = db.session
    status = request.args.get("status", "")
    if status not in REQUEST_STATES:
        status = ""
    before = request.args.get("before", type=int)
    stmt = select(SpendingRequest).order_by(SpendingRequest.id.desc()).limit(PAGE + 1)
    if status:
        stmt = stmt.where(status_filter(status))
    if before is not None:
        stmt = stmt.where(SpendingRequest.id < before)
    found = session.scalars(stmt).all()
    shown, more = found[:PAGE], len(found) > PAGE
    payees = {
        p.id: p.name
        for p in session.scalars(select(Payee).where(Payee.id.in_({r.payee_id for r in shown})))
    }
    rows = [
        {
            "id": r.id,
            "status": r.current_status,
            "fund": r.fund.name,
            "payee": payees.get(r.payee_id, ""),
            "purpose": r.purpose,
            "amount": f"{Money(r.amount_minor, r.currency)} {r.currency}",
            "submitted": r.created_at,
        }
        for r in shown
    ]
    return render_template(
        "console/requests.html",
        requests=rows,
        status=status,
        statuses=[(s, status_label(s)) for s in REQUEST_STATES],
        older=shown[-1].id if more else None,
        may_submit="clerk" in current_user.roles,
    )
