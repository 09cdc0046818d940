"""Compliance's pages (issue 24, item 3): a payee with its screening state,
restrictions and review cases; restrictions set and lifted (four eyes); refused
attempts with their evidence; watchlist versions and what each import changed;
open review cases in groups, with the listed party beside the payees, decided a
group at once, and the proposed group clearances a second officer approves.
Every fact and every decision is the service's the API calls
(``compliance.services``, ``compliance.payability``, ``screening.services``,
``screening.triage``); a refused one shows the service's own reason and is kept
(``settle``), as through the API."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField, IntegerField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from ledger.auth.models import User
from ledger.committee.models import SpendingRequest
from ledger.compliance import services
from ledger.compliance.models import Refusal, Restriction
from ledger.compliance.payability import payment_blocks
from ledger.console.views import allowed, bp
from ledger.db import db, get_or_404
from ledger.errors import LedgerError
from ledger.payees.models import Payee
from ledger.problems import settle
from ledger.screening import triage
from ledger.screening.models import SOURCES, ReviewCase, WatchlistVersion
from ledger.screening.services import version_changes

# Who reads what, as the API's routes allow it (tests/security/authz_matrix.py).
EVERYONE = ("admin", "clerk", "treasurer", "compliance", "committee_member", "auditor")
OVERSIGHT = ("admin", "treasurer", "compliance", "auditor")

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


class ReasonForm(FlaskForm):  # type: ignore[misc]
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])


class ApproveForm(FlaskForm):  # type: ignore[misc]
    pass


def user_names(ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(wanted))).all())


def payee_names(ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(db.session.execute(select(Payee.id, Payee.name).where(Payee.id.in_(wanted))).all())


# ---------------------------------------------------------------- review cases in groups


@bp.get("/review-cases")
@login_required
def case_groups() -> str:
    """The open cases in groups, largest first, each with its decision form."""
    allowed(*CASE_READERS)
    return render_template("console/case_groups.html", **_groups_page())


def _groups_page() -> dict[str, Any]:
    groups = triage.case_groups(db.session, limit=200)
    proposed = triage.proposed_clearances(db.session)
    return {
        "groups": groups,
        "payees": payee_names(p for g in groups for p in g["payee_ids"]),
        "proposed": proposed,
        "users": user_names(p["clearance"].proposed_by for p in proposed),
        "may_decide": "compliance" in current_user.roles,
        "form": GroupDecisionForm(),
        "approve_form": ApproveForm(),
    }


@bp.post("/review-cases/clearances/<int:clearance_id>/approve")
@login_required
def approve_clearance(clearance_id: int) -> Any:
    """A second compliance officer approves a proposed group clearance."""
    allowed("compliance")
    if not ApproveForm().validate_on_submit():
        abort(400)
    try:
        clearance = triage.approve_clearance(
            db.session, current_user.user, clearance_id=clearance_id
        )
    except LedgerError as refused:
        settle(refused, current_user.user)
        flash(refused.detail, "error")
        return render_template("console/case_groups.html", **_groups_page()), refused.status
    flash(
        _(
            "Clearance %(id)s approved: %(n)s cases cleared.",
            id=clearance.id,
            n=clearance.cases_cleared,
        ),
        "info",
    )
    return redirect(url_for("console.case_groups"))


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


# ---------------------------------------------------------------- a payee


@bp.get("/payees/<int:payee_id>")
@login_required
def payee_page(payee_id: int) -> str:
    allowed(*EVERYONE)
    payee = get_or_404(db.session, Payee, payee_id)
    return render_template("console/payee.html", **payee_facts(payee), form=ReasonForm())


@bp.post("/payees/<int:payee_id>/restrict")
@login_required
def restrict(payee_id: int) -> Any:
    """Restrict a payee: no request, approving vote or payment for it from now on."""
    allowed("compliance")
    payee = get_or_404(db.session, Payee, payee_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        return render_template("console/payee.html", **payee_facts(payee), form=form), 422
    try:
        restriction = services.restrict_payee(
            db.session, current_user.user, payee_id=payee_id, reason=form.reason.data
        )
        db.session.flush()
    except LedgerError as refused:
        settle(refused, current_user.user)
        flash(refused.detail, "error")
        payee = get_or_404(db.session, Payee, payee_id)
        return render_template("console/payee.html", **payee_facts(payee), form=form), (
            refused.status
        )
    flash(_("Restriction %(id)s is set: the payee cannot be paid.", id=restriction.id), "info")
    return redirect(url_for("console.payee_page", payee_id=payee_id))


def payee_facts(payee: Payee) -> dict[str, Any]:
    """Everything the payee page shows: the payee, what blocks paying it now (as
    the API's payee answers it), its restrictions and, for those who read them,
    its review cases."""
    session = db.session
    restrictions = session.scalars(
        select(Restriction)
        .where(Restriction.payee_id == payee.id)
        .order_by(Restriction.lifted_at.is_not(None), Restriction.set_at.desc(), Restriction.id)
    ).all()
    oversight = any(role in current_user.roles for role in OVERSIGHT)
    cases = (
        session.scalars(
            select(ReviewCase).where(ReviewCase.payee_id == payee.id).order_by(ReviewCase.id.desc())
        ).all()
        if oversight
        else []
    )
    linked = payee_names(p.linked_payee_id for p in payee.related_parties)
    return {
        "payee": payee,
        "linked": linked,
        "blocks": payment_blocks(session, payee),
        "restrictions": restrictions,
        "cases": cases,
        "may_read_cases": oversight,
        "may_restrict": "compliance" in current_user.roles,
        "users": user_names(
            [r.set_by for r in restrictions]
            + [r.lifted_by for r in restrictions]
            + [c.resolved_by for c in cases]
        ),
    }


# ---------------------------------------------------------------- restrictions


@bp.get("/restrictions")
@login_required
def restrictions() -> str:
    """Every restriction, the active ones first, the latest first."""
    allowed(*EVERYONE)
    return render_template("console/restrictions.html", **_restrictions_page())


def _restrictions_page(form: ReasonForm | None = None) -> dict[str, Any]:
    rows = db.session.scalars(
        select(Restriction)
        .order_by(Restriction.lifted_at.is_not(None), Restriction.set_at.desc(), Restriction.id)
        .limit(500)
    ).all()
    return {
        "restrictions": rows,
        "payees": payee_names(r.payee_id for r in rows),
        "users": user_names([r.set_by for r in rows] + [r.lifted_by for r in rows]),
        "may_lift": "compliance" in current_user.roles,
        "form": form or ReasonForm(),
    }


@bp.post("/restrictions/<int:restriction_id>/lift")
@login_required
def lift(restriction_id: int) -> Any:
    """Lift a restriction: a second compliance officer, not its setter, with a reason."""
    allowed("compliance")
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("Give the reason for lifting restriction %(id)s.", id=restriction_id), "error")
        return render_template("console/restrictions.html", **_restrictions_page(form)), 422
    try:
        services.lift_restriction(
            db.session, current_user.user, restriction_id=restriction_id, reason=form.reason.data
        )
    except LedgerError as refused:
        settle(refused, current_user.user)
        flash(refused.detail, "error")
        return render_template("console/restrictions.html", **_restrictions_page(form)), (
            refused.status
        )
    flash(_("Restriction %(id)s is lifted.", id=restriction_id), "info")
    return redirect(url_for("console.restrictions"))


# ---------------------------------------------------------------- refused attempts


@bp.get("/refusals")
@login_required
def refusals() -> str:
    """Every refused attempt, the latest first."""
    allowed(*OVERSIGHT)
    rows = db.session.scalars(select(Refusal).order_by(Refusal.id.desc()).limit(500)).all()
    return render_template(
        "console/refusals.html",
        refusals=rows,
        users=user_names(r.actor_id for r in rows),
        payees=payee_names(r.payee_id for r in rows),
    )


@bp.get("/refusals/<int:refusal_id>")
@login_required
def refusal_page(refusal_id: int) -> str:
    """One refused attempt with its evidence, as the API keeps it."""
    allowed(*OVERSIGHT)
    refusal = get_or_404(db.session, Refusal, refusal_id)
    request = (
        db.session.get(SpendingRequest, refusal.spending_request_id)
        if refusal.spending_request_id
        else None
    )
    return render_template(
        "console/refusal.html",
        refusal=refusal,
        request=request,
        users=user_names([refusal.actor_id]),
        payees=payee_names([refusal.payee_id]),
    )


# ---------------------------------------------------------------- watchlists


@bp.get("/watchlists")
@login_required
def watchlists() -> str:
    """Every list and its versions, the latest first: when and by whom each was
    imported, how many entries it holds, what it added, changed and removed."""
    allowed(*EVERYONE)
    versions = db.session.scalars(
        select(WatchlistVersion).order_by(WatchlistVersion.source, WatchlistVersion.number.desc())
    ).all()
    lists = {source: [v for v in versions if v.source == source] for source in SOURCES}
    return render_template(
        "console/watchlists.html",
        lists={source: found for source, found in lists.items() if found},
        users=user_names(v.imported_by for v in versions),
    )


@bp.get("/watchlists/versions/<int:version_id>")
@login_required
def watchlist_version(version_id: int) -> str:
    """One import: the entries it added, changed and removed, and the cases it opened."""
    allowed(*EVERYONE)
    version = get_or_404(db.session, WatchlistVersion, version_id)
    return render_template(
        "console/watchlist_version.html",
        version=version,
        changes=version_changes(db.session, version),
        users=user_names([version.imported_by]),
    )


# Fields of kept evidence as a person reads them (the keys are the API's).
FIELD_LABELS = {
    "action": _l("Action"),
    "blocks": _l("What blocked it"),
    "reason": _l("Reason"),
    "restriction_id": _l("Restriction"),
    "restricted_payee_id": _l("Restricted payee"),
    "restriction_reason": _l("Reason for the restriction"),
    "source": _l("Source"),
    "set_at": _l("Set at"),
    "related_party": _l("Related party"),
    "related_party_id": _l("Related party"),
    "review_case_id": _l("Review case"),
    "confirmed_case_id": _l("Confirmed case"),
    "delisted": _l("Delisted"),
    "subject": _l("Screened subject"),
    "list": _l("List"),
    "list_version": _l("List version"),
    "entry_id": _l("List entry"),
    "source_key": _l("Key in the list"),
    "entry_name": _l("Listed name matched"),
    "entry_name_kind": _l("Kind of listed name"),
    "query_name": _l("Payee name matched"),
    "score": _l("Score"),
    "name_score": _l("Name score"),
    "adjustments": _l("Adjustments"),
    "identifier_match": _l("Identifier matched"),
    "birth_date_match": _l("Birth date matched"),
    "programmes": _l("Programmes"),
    "matcher_version": _l("Matcher version"),
    "threshold": _l("Review threshold"),
    "listed": _l("Listed party"),
    "screened": _l("Screened party"),
    "entry": _l("List entry as published"),
    "name": _l("Name"),
    "names": _l("Names"),
    "kind": _l("Kind"),
    "role": _l("Role"),
    "id": _l("Id"),
    "reference": _l("Reference"),
    "birth_date": _l("Birth date"),
    "birth_dates": _l("Birth dates"),
    "nationality": _l("Nationality"),
    "nationalities": _l("Nationalities"),
    "identifiers": _l("Identifiers"),
    "listed_on": _l("Listed on"),
    "aliases": _l("Aliases"),
    "original_script_names": _l("Names in the original script"),
    "remarks": _l("Remarks"),
    "strength": _l("Strength"),
    "type": _l("Type"),
    "value": _l("Value"),
}

# What blocked a payment, as a person reads it (``payability`` and the gate's reasons).
BLOCK_LABELS = {
    "restricted": _l("restricted"),
    "related_party_restricted": _l("a related party is restricted"),
    "open_review_case": _l("an open review case"),
    "new_watchlist_hit": _l("a new watchlist hit"),
}


@bp.app_template_filter("field")
def field_label(key: str) -> str:
    return str(FIELD_LABELS.get(key, key.replace("_", " ")))


@bp.app_template_filter("block")
def block_label(reason: str) -> str:
    return str(BLOCK_LABELS.get(reason, reason.replace("_", " ")))


# Values of the records as a person reads them (kinds, roles, states, sources).
TERM_LABELS = {
    "organization": _l("organization"),
    "individual": _l("individual"),
    "person": _l("person"),
    "vessel": _l("vessel"),
    "other": _l("other"),
    "owner": _l("owner"),
    "director": _l("director"),
    "signatory": _l("signatory"),
    "beneficial_owner": _l("beneficial owner"),
    "manager": _l("manager"),
    "registration": _l("registration"),
    "passport": _l("passport"),
    "national_id": _l("national ID"),
    "match": _l("match"),
    "delisting": _l("delisting"),
    "open": _l("open"),
    "confirmed": _l("confirmed"),
    "cleared": _l("cleared"),
    "proposed": _l("proposed"),
    "manual": _l("set by hand"),
    "watchlist": _l("from a watchlist"),
}


@bp.app_template_filter("term")
def term_label(value: str) -> str:
    return str(TERM_LABELS.get(value, value.replace("_", " ")))
