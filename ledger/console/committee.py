"""The committee member's pages: the queue, a request with what a vote needs to
know, and the vote (issue 24, item 2). Every fact comes from the services the API
calls: ``member_queue``, ``quorum_view``, ``recusal_for``, ``payment_blocks``,
``cast_vote``; a refused vote shows the service's own reason."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from ledger.auth.models import User
from ledger.batches.services import batch_of_request
from ledger.committee import services
from ledger.committee.models import SpendingRequest, TrancheUseReport
from ledger.compliance.payability import payment_blocks
from ledger.console.views import allowed, bp, status_label
from ledger.db import db, get_or_404
from ledger.errors import LedgerError
from ledger.money import Money
from ledger.payees.models import Payee
from ledger.problems import settle
from ledger.projects.models import SECTOR_LABELS, Project

READERS = ("committee_member", "admin", "auditor", "clerk", "treasurer", "compliance")


class VoteForm(FlaskForm):  # type: ignore[misc]
    decision = RadioField(
        _l("Your vote"),
        choices=[SelectChoice("approve", _l("Approve")), SelectChoice("reject", _l("Reject"))],
        validators=[DataRequired()],
    )
    comment = TextAreaField(_l("Comment"), validators=[DataRequired(), Length(max=2000)])


@bp.get("/queue")
@login_required
def queue() -> str:
    """The requests that wait for my vote, the soonest to expire first."""
    allowed("committee_member")
    waiting = services.member_queue(db.session, current_user.user)
    return render_template("console/queue.html", requests=[request_summary(r) for r in waiting])


@bp.get("/requests/<int:request_id>")
@login_required
def request_page(request_id: int) -> str:
    allowed(*READERS)
    request = get_or_404(db.session, SpendingRequest, request_id)
    return render_template("console/request.html", **request_facts(request), form=VoteForm())


@bp.post("/requests/<int:request_id>/vote")
@login_required
def vote(request_id: int) -> Any:
    allowed("committee_member")
    form = VoteForm()
    request = get_or_404(db.session, SpendingRequest, request_id)
    if not form.validate_on_submit():
        return render_template("console/request.html", **request_facts(request), form=form), 422
    policy = current_app.extensions["ledger.quorum_policy"]
    try:
        decided, _vote, _outcome = services.cast_vote(
            db.session,
            current_user.user,
            policy,
            request_id=request_id,
            decision=form.decision.data,
            comment=form.comment.data,
        )
    except LedgerError as refused:
        settle(refused, current_user.user)  # as the API does: the refusal is kept
        request = get_or_404(db.session, SpendingRequest, request_id)
        flash(refused.detail, "error")
        page = render_template("console/request.html", **request_facts(request), form=form)
        return page, refused.status
    flash(
        _("Your vote is recorded: the request is %(status)s.", status=status_label(decided.status)),
        "info",
    )
    return redirect(url_for("console.request_page", request_id=request_id))


def request_summary(request: SpendingRequest) -> dict[str, Any]:
    project = db.session.get(Project, request.project_id)
    payee = db.session.get(Payee, request.payee_id)
    return {
        "id": request.id,
        "purpose": request.purpose,
        "amount": f"{Money(request.amount_minor, request.currency)} {request.currency}",
        "project": project.name if project else "",
        "payee": payee.name if payee else "",
        "expires_at": request.expires_at,
    }


def request_facts(request: SpendingRequest, upload: Any = None) -> dict[str, Any]:
    """Everything the request page shows, from the services; ``upload``: the
    document form as submitted, to show again with its errors."""
    from ledger.console.documents import request_documents, upload_form

    session = db.session
    policy = current_app.extensions["ledger.quorum_policy"]
    fund = request.fund
    project = get_or_404(session, Project, request.project_id)
    payee = get_or_404(session, Payee, request.payee_id)
    quorum = services.quorum_view(session, policy, request)
    recusal = services.recusal_for(session, request)
    members = {
        u.id: u
        for u in session.scalars(
            select(User).where(User.id.in_([v.member_id for v in request.votes]))
        )
    }
    me = current_user.user
    voted = any(v.member_id == me.id for v in request.votes)
    why_not = None
    if "committee_member" not in current_user.roles:
        why_not = _("Only committee members vote.")
    elif me.id in recusal.recused_member_ids:
        why_not = _(
            "You declared a conflict of interest with this payee (or a party behind it): "
            "you are recused from its requests."
        )
    elif voted:
        why_not = _("You have voted on this request.")
    elif request.submitted_by == me.id:
        why_not = _("You submitted this request.")
    elif request.current_status != "pending":
        why_not = _("The request is %(status)s.", status=status_label(request.current_status))
    return {
        "request": request,
        "fund": fund,
        "project": project,
        "sector": SECTOR_LABELS.get(project.sector, project.sector),
        "payee": payee,
        "amount": f"{Money(request.amount_minor, request.currency)} {request.currency}",
        "base": f"{Money(request.base_amount_minor, fund.base_currency)} {fund.base_currency}",
        "quorum": quorum,
        "votes": [
            {
                "member": members[v.member_id].name if v.member_id in members else v.member_id,
                "institution": v.institution,
                "chair": v.is_chair,
                "decision": v.decision,
                "comment": v.comment,
                "cast_at": v.cast_at,
            }
            for v in request.votes
        ],
        "blocks": payment_blocks(session, payee),
        "tranches": services.tranche_state(session, request),
        "use_reports": use_reports(request),
        "batch": _batch_of(request),
        "documents": request_documents(request),
        "upload": upload_form(upload),
        "why_not": why_not,
    }


def use_reports(request: SpendingRequest) -> list[dict[str, Any]]:
    """The use reports of the request's tranches (``use_reports_query``, as
    ``GET /spending-requests/{id}/use-reports``), oldest first, with who decided."""
    session = db.session
    reports = session.scalars(
        services.use_reports_query(request.id).order_by(TrancheUseReport.id)
    ).all()
    seq = {t.id: t.seq for t in request.tranches}
    people = {r.reported_by for r in reports} | {r.reviewed_by for r in reports if r.reviewed_by}
    names = dict(session.execute(select(User.id, User.name).where(User.id.in_(people))).all())
    return [
        {
            "tranche": seq.get(r.tranche_id, "?"),
            "amount_used": str(Money(r.amount_used_minor, request.currency)),
            "currency": request.currency,
            "reference": r.reference,
            "note": r.note,
            "status": r.status,
            "reported_by": names.get(r.reported_by, r.reported_by),
            "reported_at": r.reported_at,
            "reviewed_by": names.get(r.reviewed_by) if r.reviewed_by else None,
            "reviewed_at": r.reviewed_at,
            "review_note": r.review_note,
        }
        for r in reports
    ]


def _batch_of(request: SpendingRequest) -> dict[str, Any] | None:
    """The batch this request pays, summarised as on the batches page, if any."""
    from ledger.console.batches import batch_summary  # the batches' pages import this one

    batch = batch_of_request(db.session, request.id)
    return batch_summary(batch) if batch is not None else None
