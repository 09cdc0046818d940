"""Funds, donors, pledges and contributions."""

from typing import Any

from flask.views import MethodView
from sqlalchemy import select

from ledger.api import Blueprint, PageArgs, page_of, paginate, parse_money, problems, today
from ledger.auth.access import current_user, requires
from ledger.db import db, get_or_404
from ledger.errors import (
    AlreadyReversed,
    Conflict,
    ContributionCommitted,
    ExceedsPledge,
    IdempotencyKeyMissing,
    IdempotencyKeyReused,
    NotFound,
    PeriodClosed,
    ReferenceInUse,
    RequestInProgress,
)
from ledger.funding import corrections, services
from ledger.funding.models import ClosedPeriod, Contribution, Donor, Fund, Pledge, PledgeAmendment
from ledger.funding.schemas import (
    AvailableArgs,
    AvailableRowSchema,
    ClosedPeriodSchema,
    ContributionCreateSchema,
    ContributionListArgs,
    ContributionSchema,
    CorrectionSchema,
    DonorCreateSchema,
    DonorListArgs,
    DonorSchema,
    FundCreateSchema,
    FundSchema,
    PeriodCloseSchema,
    PledgeAmendmentSchema,
    PledgeAmendSchema,
    PledgeCreateSchema,
    PledgeListArgs,
    PledgeSchema,
)
from ledger.funding.trace import available_by_earmark
from ledger.idempotency.services import HEADER_DOC, idempotent

blp = Blueprint("funding", __name__, description="Funds, donors, pledges and contributions")

STAFF = ("admin", "clerk", "treasurer", "compliance", "committee_member")


@blp.route("/funds")
class Funds(MethodView):
    @requires(*STAFF, read=True)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(FundSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List funds."""
        return paginate(db.session, select(Fund), Fund.id, args)

    @requires("admin")
    @problems(blp, Conflict)
    @blp.arguments(FundCreateSchema)
    @blp.response(201, FundSchema)
    def post(self, data: dict[str, Any]) -> Fund:
        """Create a fund with its base (reporting) currency."""
        return services.create_fund(db.session, current_user(), **data)


@blp.route("/funds/<int:fund_id>")
class FundById(MethodView):
    @requires(*STAFF, read=True)
    @blp.response(200, FundSchema)
    def get(self, fund_id: int) -> Fund:
        """One fund."""
        return get_or_404(db.session, Fund, fund_id)


@blp.route("/donors")
class Donors(MethodView):
    @requires(*STAFF, read=True)
    @blp.arguments(DonorListArgs, location="query")
    @blp.response(200, page_of(DonorSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List donors, by kind or country."""
        stmt = select(Donor)
        for key in ("kind", "country"):
            if key in args:
                stmt = stmt.where(getattr(Donor, key) == args[key])
        return paginate(db.session, stmt, Donor.id, args)

    @requires("clerk")
    @problems(blp, Conflict)
    @blp.arguments(DonorCreateSchema)
    @blp.response(201, DonorSchema)
    def post(self, data: dict[str, Any]) -> Donor:
        """Register a donor."""
        return services.create_donor(db.session, current_user(), **data)


@blp.route("/donors/<int:donor_id>")
class DonorById(MethodView):
    @requires(*STAFF, read=True)
    @blp.response(200, DonorSchema)
    def get(self, donor_id: int) -> Donor:
        """One donor."""
        return get_or_404(db.session, Donor, donor_id)


@blp.route("/pledges")
class Pledges(MethodView):
    @requires(*STAFF, read=True)
    @blp.arguments(PledgeListArgs, location="query")
    @blp.response(200, page_of(PledgeSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List pledges, by fund, donor, currency or status."""
        stmt = select(Pledge)
        for key in ("fund_id", "donor_id", "currency", "status"):
            if key in args:
                stmt = stmt.where(getattr(Pledge, key) == args[key])
        return paginate(db.session, stmt, Pledge.id, args)

    @requires("clerk")
    @problems(blp, NotFound)
    @blp.arguments(PledgeCreateSchema)
    @blp.response(201, PledgeSchema)
    def post(self, data: dict[str, Any]) -> Pledge:
        """Record a donor's pledge (posts receivable against pledged contributions)."""
        return services.create_pledge(
            db.session,
            current_user(),
            fund_id=data["fund_id"],
            donor_id=data["donor_id"],
            amount=parse_money(data),
            pledged_on=data["pledged_on"],
            fx_rate=data["fx_rate"],
            earmark=data["earmark"],
        )


@blp.route("/pledges/<int:pledge_id>")
class PledgeById(MethodView):
    @requires(*STAFF, read=True)
    @blp.response(200, PledgeSchema)
    def get(self, pledge_id: int) -> Pledge:
        """One pledge, with what has been received against it."""
        return get_or_404(db.session, Pledge, pledge_id)


@blp.route("/pledges/<int:pledge_id>/contributions")
class PledgeContributions(MethodView):
    @requires(*STAFF, read=True)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(ContributionSchema))
    def get(self, args: dict[str, Any], pledge_id: int) -> dict[str, Any]:
        """Money received against one pledge."""
        get_or_404(db.session, Pledge, pledge_id)
        stmt = select(Contribution).where(Contribution.pledge_id == pledge_id)
        return paginate(db.session, stmt, Contribution.id, args)

    @requires("treasurer")
    @idempotent
    @blp.doc(parameters=[HEADER_DOC])
    @problems(
        blp,
        NotFound,
        Conflict,
        ExceedsPledge,
        ReferenceInUse,
        IdempotencyKeyMissing,
        IdempotencyKeyReused,
        RequestInProgress,
    )
    @blp.arguments(ContributionCreateSchema)
    @blp.response(201, ContributionSchema)
    def post(self, data: dict[str, Any], pledge_id: int) -> Contribution:
        """Record money received against a pledge. Needs an Idempotency-Key."""
        return services.record_contribution(
            db.session,
            current_user(),
            pledge_id=pledge_id,
            amount=parse_money(data),
            received_on=data["received_on"],
            reference=data["reference"],
            fx_rate=data["fx_rate"],
            over_contribution=data["over_contribution"],
        )


@blp.route("/contributions")
class Contributions(MethodView):
    @requires(*STAFF, read=True)
    @blp.arguments(ContributionListArgs, location="query")
    @blp.response(200, page_of(ContributionSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List contributions, by fund, pledge, or value-date range."""
        stmt = select(Contribution)
        for key in ("fund_id", "pledge_id"):
            if key in args:
                stmt = stmt.where(getattr(Contribution, key) == args[key])
        if "received_from" in args:
            stmt = stmt.where(Contribution.received_on >= args["received_from"])
        if "received_to" in args:
            stmt = stmt.where(Contribution.received_on <= args["received_to"])
        return paginate(db.session, stmt, Contribution.id, args)


@blp.route("/contributions/<int:contribution_id>")
class ContributionById(MethodView):
    @requires(*STAFF, read=True)
    @blp.response(200, ContributionSchema)
    def get(self, contribution_id: int) -> Contribution:
        """One contribution."""
        return get_or_404(db.session, Contribution, contribution_id)


@blp.route("/pledges/<int:pledge_id>/amend")
class AmendPledge(MethodView):
    @requires("clerk")
    @problems(blp, NotFound, Conflict, PeriodClosed)
    @blp.arguments(PledgeAmendSchema)
    @blp.response(200, PledgeSchema)
    def post(self, data: dict[str, Any], pledge_id: int) -> Pledge:
        """Change a pledge's amount (never below what was received), with a reason;
        the difference is posted as a new entry."""
        return corrections.amend_pledge(
            db.session,
            current_user(),
            pledge_id=pledge_id,
            new_amount=parse_money(data),
            reason=data["reason"],
            value_date=data["value_date"] or today(),
        )


@blp.route("/pledges/<int:pledge_id>/cancel")
class CancelPledge(MethodView):
    @requires("clerk")
    @problems(blp, NotFound, Conflict, PeriodClosed)
    @blp.arguments(CorrectionSchema)
    @blp.response(200, PledgeSchema)
    def post(self, data: dict[str, Any], pledge_id: int) -> Pledge:
        """Cancel what remains of a pledge; what was received stays."""
        return corrections.cancel_pledge(
            db.session,
            current_user(),
            pledge_id=pledge_id,
            reason=data["reason"],
            value_date=data["value_date"] or today(),
        )


@blp.route("/pledges/<int:pledge_id>/amendments")
class PledgeAmendments(MethodView):
    @requires(*STAFF, read=True)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(PledgeAmendmentSchema))
    def get(self, args: dict[str, Any], pledge_id: int) -> dict[str, Any]:
        """A pledge's amendments and cancellation, in order."""
        get_or_404(db.session, Pledge, pledge_id)
        stmt = select(PledgeAmendment).where(PledgeAmendment.pledge_id == pledge_id)
        return paginate(db.session, stmt, PledgeAmendment.id, args)


@blp.route("/contributions/<int:contribution_id>/reverse")
class ReverseContribution(MethodView):
    @requires("treasurer")
    @idempotent
    @problems(
        blp,
        NotFound,
        AlreadyReversed,
        ContributionCommitted,
        PeriodClosed,
        IdempotencyKeyMissing,
        IdempotencyKeyReused,
        RequestInProgress,
    )
    @blp.doc(parameters=[HEADER_DOC])
    @blp.arguments(CorrectionSchema)
    @blp.response(200, ContributionSchema)
    def post(self, data: dict[str, Any], contribution_id: int) -> Contribution:
        """A transfer returned to the donor: a new entry negating the receipt. Only
        uncommitted money goes back. Needs an Idempotency-Key."""
        return corrections.reverse_contribution(
            db.session,
            current_user(),
            contribution_id=contribution_id,
            reason=data["reason"],
            value_date=data["value_date"] or today(),
        )


@blp.route("/funds/<int:fund_id>/periods")
class Periods(MethodView):
    @requires(*STAFF, read=True)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(ClosedPeriodSchema))
    def get(self, args: dict[str, Any], fund_id: int) -> dict[str, Any]:
        """The fund's closed periods."""
        get_or_404(db.session, Fund, fund_id)
        stmt = select(ClosedPeriod).where(ClosedPeriod.fund_id == fund_id)
        return paginate(db.session, stmt, ClosedPeriod.id, args)

    @requires("treasurer")
    @problems(blp, NotFound, Conflict)
    @blp.arguments(PeriodCloseSchema)
    @blp.response(201, ClosedPeriodSchema)
    def post(self, data: dict[str, Any], fund_id: int) -> ClosedPeriod:
        """Close a month that has ended: no entry may be dated inside it again."""
        return corrections.close_period(
            db.session,
            current_user(),
            fund_id=fund_id,
            period=data["period"],
            reason=data["reason"],
        )


@blp.route("/reports/available")
class Available(MethodView):
    @requires(*STAFF, read=True)
    @blp.arguments(AvailableArgs, location="query")
    @blp.response(200, AvailableRowSchema(many=True))
    def get(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        """Received, uncommitted money per earmark (null: unearmarked)."""
        fund = get_or_404(db.session, Fund, args["fund_id"])
        return available_by_earmark(db.session, fund)
