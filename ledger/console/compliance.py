"""Compliance's pages: open review cases in groups, with the listed party beside
the payees, decided a group at once (issue 24, item 3). The decisions are
``screening.triage``'s, as for the API; a refused one shows the service's reason."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from ledger.console.views import allowed, bp
from ledger.db import db
from ledger.errors import LedgerError
from ledger.problems import settle
from ledger.screening import triage

# Who reads the open review cases (as GET /review-case-groups allows).
CASE_READERS = ("compliance", "auditor", "admin")


class GroupDecisionForm(FlaskForm):  # type: ignore[misc]
    entry_id = IntegerField(validators=[DataRequired()])
    listed_key = HiddenField(validators=[DataRequired(), Length(max=300)])
    decision = RadioField(
        _l("Decision"),
        choices=[
            SelectChoice("clear", _l("Clear: not the listed party")),
            SelectChoice("confirm", _l("Confirm: the listed party")),
        ],
        validators=[DataRequired()],
    )
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])


@bp.get("/review-cases")
@login_required
def case_groups() -> str:
    """The open cases in groups, largest first, each with its decision form."""
    allowed(*CASE_READERS)
    groups = triage.case_groups(db.session, limit=200)
    may_decide = "compliance" in current_user.roles
    return render_template(
        "console/case_groups.html", groups=groups, may_decide=may_decide, form=GroupDecisionForm()
    )


@bp.post("/review-cases/decide")
@login_required
def decide_group() -> Any:
    allowed("compliance")
    form = GroupDecisionForm()
    if not form.validate_on_submit():
        flash(_("Choose clear or confirm, and give a reason."), "error")
        return redirect(url_for("console.case_groups"))
    decision = {
        "entry_id": form.entry_id.data,
        "listed_key": form.listed_key.data,
        "reason": form.reason.data,
    }
    try:
        if form.decision.data == "confirm":
            confirmed = triage.confirm_group(db.session, current_user.user, **decision)
            flash(
                _("%(n)s cases confirmed: their payees are restricted.", n=len(confirmed)), "info"
            )
        else:
            clearance = triage.clear_group(db.session, current_user.user, **decision)
            if clearance.status == "approved":
                flash(_("%(n)s cases cleared.", n=clearance.cases_cleared), "info")
            else:
                flash(
                    _(
                        "Clearance %(id)s of %(n)s cases is proposed: a second compliance "
                        "officer approves it (the cases stay open).",
                        id=clearance.id,
                        n=clearance.cases_proposed,
                    ),
                    "info",
                )
    except LedgerError as refused:
        settle(refused, current_user.user)
        flash(refused.detail, "error")
    return redirect(url_for("console.case_groups"))
