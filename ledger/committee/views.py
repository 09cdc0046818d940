"""Spending requests, the committee's votes, and what follows a decision."""

import datetime as dt
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask.views import MethodView
from sqlalchemy import select

from ledger.api import Blueprint, PageArgs, page_of, paginate, parse_money, problems
from ledger.auth.access import current_user, requires
from ledger.committee import services
from ledger.committee.models import (
    ConflictDeclaration,
    RequestAmendment,
    SpendingRequest,
    TrancheUseReport,
    Vote,
)
from ledger.committee.policy import QuorumPolicy
from ledger.committee.schemas import (
    AmendmentSchema,
    ConflictCreateSchema,
    ConflictListArgs,
    ConflictSchema,
    DecisionArgs,
    DecreaseSchema,
    ReasonInSchema,
    ReviewSchema,
    SpendingRequestCreateSchema,
    SpendingRequestListArgs,
    SpendingRequestSchema,
    UseReportCreateSchema,
    UseReportSchema,
    VoteCreateSchema,
    VoteResultSchema,
    VoteSchema,
)
from ledger.db import db, get_or_404, utcnow
from ledger.errors import (
    AlreadyVoted,
    Conflict,
    ConflictOfInterest,
    EarmarkViolation,
    InsufficientFunds,
    NotApproved,
    NotFound,
    NotPending,
    PayeeRestricted,
    SeparationOfDuties,
    ValidationFailed,
)
from ledger.funding.views import STAFF
from ledger.money import Money, MoneyError

blp = Blueprint(
    "committee", __name__, description="Spending requests and the committee's votes on them"
)


def policy() -> QuorumPolicy:
    quorum: QuorumPolicy = current_app.extensions["ledger.quorum_policy"]
    return quorum


def shown(request: SpendingRequest) -> SpendingRequest:
    """Attach what a reader sees beside the row: the quorum and the tranches."""
    request.quorum = services.quorum_view(db.session, policy(), request)  # type: ignore[attr-defined]
    request.tranche_state = services.tranche_state(db.session, request)  # type: ignore[attr-defined]
    return request


def day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def status_filter(status: str) -> Any:
    """Filter on the status as read now (a pending request past expiry is expired)."""
    due = sa.and_(SpendingRequest.status == "pending", SpendingRequest.expires_at <= utcnow())
    if status == "pending":
        return sa.and_(SpendingRequest.status == "pending", sa.not_(due))
    if status == "expired":
        return sa.or_(SpendingRequest.status == "expired", due)
    return SpendingRequest.status == status


@blp.route("/spending-requests")
class SpendingRequests(MethodView):
    @requires(*STAFF, read=True)
    @blp.arguments(SpendingRequestListArgs, location="query")
    @blp.response(200, page_of(SpendingRequestSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List spending requests, by fund, project, payee or status."""
        stmt = select(SpendingRequest)
        for key in ("fund_id", "project_id", "payee_id"):
            if key in args:
                stmt = stmt.where(getattr(SpendingRequest, key) == args[key])
        if "status" in args:
            stmt = stmt.where(status_filter(args["status"]))
        page = paginate(db.session, stmt, SpendingRequest.id, args)
        page["items"] = [shown(r) for r in page["items"]]
        return page

    @requires("clerk")
    @problems(blp, NotFound, PayeeRestricted)
    @blp.arguments(SpendingRequestCreateSchema)
    @blp.response(201, SpendingRequestSchema)
    def post(self, data: dict[str, Any]) -> SpendingRequest:
        """Ask the committee to commit money to a project for a payee, optionally in
        tranches; or, with amends_request_id, to increase an approved request."""
        request = services.submit_request(
            db.session,
            current_user(),
            policy(),
            fund_id=data["fund_id"],
            project_id=data["project_id"],
            payee_id=data["payee_id"],
            amount=parse_money(data),
            purpose=data["purpose"],
            fx_rate=data["fx_rate"],
            expiry_days=current_app.config["REQUEST_EXPIRY_DAYS"],
            tranches=data["tranches"],
            amends_request_id=data["amends_request_id"],
        )
        return shown(request)


@blp.route("/spending-requests/<int:request_id>")
class SpendingRequestById(MethodView):
    @requires(*STAFF, read=True)
    @blp.response(200, SpendingRequestSchema)
    def get(self, request_id: int) -> SpendingRequest:
        """One request: its votes, its tier, what is still missing, the policy version,
        its tranches."""
        return shown(get_or_404(db.session, SpendingRequest, request_id))


@blp.route("/spending-requests/<int:request_id>/votes")
class Votes(MethodView):
    @requires(*STAFF, read=True)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(VoteSchema))
    def get(self, args: dict[str, Any], request_id: int) -> dict[str, Any]:
        """The votes cast on a request, in order."""
        get_or_404(db.session, SpendingRequest, request_id)
        stmt = select(Vote).where(Vote.spending_request_id == request_id)
        return paginate(db.session, stmt, Vote.id, args)

    @requires("committee_member")
    @problems(
        blp,
        NotFound,
        NotPending,
        AlreadyVoted,
        SeparationOfDuties,
        ConflictOfInterest,
        PayeeRestricted,
        InsufficientFunds,
        EarmarkViolation,
    )
    @blp.arguments(VoteCreateSchema)
    @blp.response(201, VoteResultSchema)
    def post(self, data: dict[str, Any], request_id: int) -> dict[str, Any]:
        """Vote to approve or reject. The answer shows the request's new state; the
        deciding approval commits the money. Recused members are refused
        (conflict_of_interest)."""
        request, vote, _outcome = services.cast_vote(
            db.session, current_user(), policy(), request_id=request_id, **data
        )
        return {"vote": vote, "spending_request": shown(request)}


@blp.route("/spending-requests/<int:request_id>/withdraw")
class Withdraw(MethodView):
    @requires("clerk")
    @problems(blp, NotFound, NotPending)
    @blp.arguments(ReasonInSchema)
    @blp.response(200, SpendingRequestSchema)
    def post(self, data: dict[str, Any], request_id: int) -> SpendingRequest:
        """The submitter withdraws an undecided request."""
        return shown(
            services.withdraw_request(
                db.session, current_user(), request_id=request_id, reason=data["reason"]
            )
        )


@blp.route("/spending-requests/<int:request_id>/decrease")
class Decrease(MethodView):
    @requires("clerk", "treasurer")
    @problems(blp, NotFound, NotApproved)
    @blp.arguments(DecreaseSchema)
    @blp.response(200, SpendingRequestSchema)
    def post(self, data: dict[str, Any], request_id: int) -> SpendingRequest:
        """Lower an approved request's amount; the released commitment goes back to
        the fund (a journal entry). To increase, submit a new request."""
        return shown(
            services.decrease_request(
                db.session,
                current_user(),
                request_id=request_id,
                new_amount=parse_money(data),
                reason=data["reason"],
            )
        )


@blp.route("/spending-requests/<int:request_id>/cancel")
class Cancel(MethodView):
    @requires("clerk", "treasurer")
    @problems(blp, NotFound, NotApproved)
    @blp.arguments(ReasonInSchema)
    @blp.response(200, SpendingRequestSchema)
    def post(self, data: dict[str, Any], request_id: int) -> SpendingRequest:
        """Cancel an approved request: what is not paid is released."""
        return shown(
            services.cancel_request(
                db.session, current_user(), request_id=request_id, reason=data["reason"]
            )
        )


@blp.route("/spending-requests/<int:request_id>/amendments")
class Amendments(MethodView):
    @requires(*STAFF, read=True)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(AmendmentSchema))
    def get(self, args: dict[str, Any], request_id: int) -> dict[str, Any]:
        """Every decrease and cancellation of a request, in order."""
        get_or_404(db.session, SpendingRequest, request_id)
        stmt = select(RequestAmendment).where(RequestAmendment.spending_request_id == request_id)
        return paginate(db.session, stmt, RequestAmendment.id, args)


@blp.route("/spending-requests/<int:request_id>/tranches/<int:seq>/use-reports")
class UseReports(MethodView):
    @requires("clerk", "treasurer")
    @problems(blp, NotFound, Conflict)
    @blp.arguments(UseReportCreateSchema)
    @blp.response(201, UseReportSchema)
    def post(self, data: dict[str, Any], request_id: int, seq: int) -> TrancheUseReport:
        """Record the payee's report of how much of tranche `seq` it has used."""
        try:
            used = Money.parse(data["amount_used"], data["currency"])
        except MoneyError as exc:
            raise ValidationFailed("amount_used", str(exc)) from None
        return services.report_use(
            db.session,
            current_user(),
            request_id=request_id,
            seq=seq,
            amount_used=used,
            reference=data["reference"],
            note=data["note"],
        )


@blp.route("/spending-requests/<int:request_id>/use-reports")
class RequestUseReports(MethodView):
    @requires(*STAFF, read=True)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(UseReportSchema))
    def get(self, args: dict[str, Any], request_id: int) -> dict[str, Any]:
        """Every use report of a request's tranches."""
        get_or_404(db.session, SpendingRequest, request_id)
        stmt = services.use_reports_query(request_id)
        return paginate(db.session, stmt, TrancheUseReport.id, args)


def _review(report_id: int, data: dict[str, Any], accept: bool) -> TrancheUseReport:
    return services.review_use(
        db.session,
        current_user(),
        report_id=report_id,
        accept=accept,
        note=data["note"],
        release_share=Decimal(str(current_app.config["TRANCHE_RELEASE_SHARE"])),
    )


@blp.route("/use-reports/<int:report_id>/accept")
class AcceptUse(MethodView):
    @requires("treasurer", "compliance")
    @problems(blp, NotFound, Conflict, SeparationOfDuties)
    @blp.arguments(ReviewSchema)
    @blp.response(200, UseReportSchema)
    def post(self, data: dict[str, Any], report_id: int) -> TrancheUseReport:
        """Accept a use report (not by whoever recorded it). Enough accepted use of a
        tranche releases the next."""
        return _review(report_id, data, accept=True)


@blp.route("/use-reports/<int:report_id>/reject")
class RejectUse(MethodView):
    @requires("treasurer", "compliance")
    @problems(blp, NotFound, Conflict, SeparationOfDuties)
    @blp.arguments(ReviewSchema)
    @blp.response(200, UseReportSchema)
    def post(self, data: dict[str, Any], report_id: int) -> TrancheUseReport:
        """Reject a use report, with a note."""
        return _review(report_id, data, accept=False)


@blp.route("/committee/queue")
class Queue(MethodView):
    @requires("committee_member")
    @blp.response(200, SpendingRequestSchema(many=True))
    def get(self) -> list[SpendingRequest]:
        """What awaits your vote, soonest to expire first, with what each still needs."""
        return [shown(r) for r in services.member_queue(db.session, current_user())]


@blp.route("/committee/conflicts")
class Conflicts(MethodView):
    @requires("committee_member", "compliance", read=True)
    @blp.arguments(ConflictListArgs, location="query")
    @blp.response(200, page_of(ConflictSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Declared conflicts of interest, by member, payee or active state."""
        stmt = select(ConflictDeclaration)
        for key in ("member_id", "payee_id"):
            if key in args:
                stmt = stmt.where(getattr(ConflictDeclaration, key) == args[key])
        if "active" in args:
            open_ = ConflictDeclaration.withdrawn_at.is_(None)
            stmt = stmt.where(open_ if args["active"] else sa.not_(open_))
        return paginate(db.session, stmt, ConflictDeclaration.id, args)

    @requires("committee_member")
    @problems(blp, NotFound)
    @blp.arguments(ConflictCreateSchema)
    @blp.response(201, ConflictSchema)
    def post(self, data: dict[str, Any]) -> ConflictDeclaration:
        """Declare your link to a payee: you are recused from its requests, and from
        those of payees it stands behind."""
        declaration: ConflictDeclaration = services.declare_conflict(
            db.session, current_user(), **data
        )
        return declaration


@blp.route("/committee/conflicts/<int:declaration_id>/withdraw")
class WithdrawConflict(MethodView):
    @requires("committee_member")
    @problems(blp, NotFound, Conflict)
    @blp.arguments(ReasonInSchema)
    @blp.response(200, ConflictSchema)
    def post(self, data: dict[str, Any], declaration_id: int) -> ConflictDeclaration:
        """Withdraw your own declaration, with a reason."""
        return services.withdraw_conflict(
            db.session, current_user(), declaration_id=declaration_id, reason=data["reason"]
        )


@blp.route("/reports/decisions")
class Decisions(MethodView):
    @requires("compliance", "treasurer", read=True)
    @blp.arguments(DecisionArgs, location="query")
    @blp.response(200, page_of(SpendingRequestSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The decisions register: every decided request with its votes, comments,
        tier, policy version and outcome; by fund, decision date, institution, outcome."""
        stmt = select(SpendingRequest).where(SpendingRequest.status != "pending")
        if "fund_id" in args:
            stmt = stmt.where(SpendingRequest.fund_id == args["fund_id"])
        if "outcome" in args:
            stmt = stmt.where(SpendingRequest.status == args["outcome"])
        if "decided_from" in args:
            stmt = stmt.where(SpendingRequest.decided_at >= day_start(args["decided_from"]))
        if "decided_to" in args:
            next_day = args["decided_to"] + dt.timedelta(days=1)
            stmt = stmt.where(SpendingRequest.decided_at < day_start(next_day))
        if "institution" in args:
            voted = select(Vote.spending_request_id).where(Vote.institution == args["institution"])
            stmt = stmt.where(SpendingRequest.id.in_(voted))
        page = paginate(db.session, stmt, SpendingRequest.id, args)
        page["items"] = [shown(r) for r in page["items"]]
        return page
