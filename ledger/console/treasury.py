"""The treasurer's pages: approved requests with what remains to pay, and a
payment form that cannot pay twice when submitted twice (issue 24, item 4): the
form carries a key made when it was shown, and ``idempotency.services.once``
answers a second submission with the first one's payment. The payment itself is
``disburse()``, as for the API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, HiddenField, StringField
from wtforms.validators import DataRequired, Length, Optional

from ledger.committee.models import SpendingRequest
from ledger.console.committee import request_facts, request_summary
from ledger.console.views import allowed, bp
from ledger.db import db, get_or_404, utcnow
from ledger.disbursements.services import disburse
from ledger.errors import LedgerError
from ledger.idempotency.services import once
from ledger.money import Money, MoneyError
from ledger.problems import settle


class PaymentForm(FlaskForm):  # type: ignore[misc]
    key = HiddenField()
    amount = StringField(_l("Amount"), validators=[DataRequired(), Length(max=30)])
    reference = StringField(_l("Bank reference"), validators=[DataRequired(), Length(max=100)])
    paid_on = DateField(_l("Value date"), validators=[Optional()])


@bp.get("/payments")
@login_required
def payments() -> str:
    """Approved requests with money left to pay, oldest decision first, and what
    may be paid now where unreleased tranches lock part of it."""
    allowed("treasurer")
    approved = db.session.scalars(
        select(SpendingRequest)
        .where(SpendingRequest.status == "approved")
        .order_by(SpendingRequest.decided_at, SpendingRequest.id)
    ).all()
    rows = [
        {
            **request_summary(r),
            "remaining": f"{r.remaining} {r.currency}",
            # Tranches not yet released lock part of what remains: what a payment may
            # take now, the figure above which disburse() answers tranche_locked.
            "payable_now": f"{r.payable_now} {r.currency}"
            if r.payable_now.minor < r.remaining.minor
            else None,
        }
        for r in approved
        if r.remaining.minor > 0
    ]
    return render_template("console/payments.html", requests=rows)


@bp.route("/requests/<int:request_id>/pay", methods=["GET", "POST"])
@login_required
def pay(request_id: int) -> Any:
    allowed("treasurer")
    request = get_or_404(db.session, SpendingRequest, request_id)
    form = PaymentForm()
    if not form.is_submitted():
        form.key.data = str(uuid.uuid4())  # made with the form: one payment per form
        form.paid_on.data = utcnow().date()
    elif form.validate():
        try:
            amount = Money.parse(form.amount.data.strip(), request.currency)
        except MoneyError as exc:
            form.amount.errors = [*form.amount.errors, str(exc)]
        else:
            return _pay(request, form, amount)
    page = request_facts(request)
    return render_template("console/pay.html", **page, form=form), (
        422 if form.is_submitted() else 200
    )


def _pay(request: SpendingRequest, form: PaymentForm, amount: Money) -> Any:
    paid_on: dt.date = form.paid_on.data or utcnow().date()

    def act() -> dict[str, Any]:
        made = disburse(
            db.session,
            current_user.user,
            spending_request_id=request.id,
            amount=amount,
            reference=form.reference.data.strip(),
            paid_on=paid_on,
        )
        return {"disbursement_id": made.id}

    try:
        answer, replayed = once(db.session, current_user.id, form.key.data or "", act)
    except LedgerError as refused:
        settle(refused, current_user.user)  # as the API does: the refusal is kept
        flash(refused.detail, "error")
        request = get_or_404(db.session, SpendingRequest, request.id)
        page = render_template("console/pay.html", **request_facts(request), form=form)
        return page, refused.status
    paid = answer["disbursement_id"]
    if replayed:
        flash(_("Payment %(id)s was already made by this form.", id=paid), "info")
    else:
        flash(_("Payment %(id)s is made.", id=paid), "info")
    return redirect(url_for("console.request_page", request_id=request.id))
