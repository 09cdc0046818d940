"""Disbursements: money paid out against approvals."""

from typing import Any

from flask.views import MethodView
from sqlalchemy import select

from ledger.api import Blueprint, page_of, paginate, parse_money, problems, today
from ledger.auth.access import current_user, requires
from ledger.db import db, get_or_404
from ledger.disbursements.models import Disbursement
from ledger.disbursements.schemas import (
    DisbursementCreateSchema,
    DisbursementListArgs,
    DisbursementSchema,
)
from ledger.disbursements.services import disburse, reverse_disbursement
from ledger.errors import (
    AlreadyReversed,
    ExceedsApproval,
    IdempotencyKeyMissing,
    IdempotencyKeyReused,
    NotApproved,
    NotFound,
    PayeeRestricted,
    PeriodClosed,
    ReferenceInUse,
    RequestInProgress,
    SeparationOfDuties,
    TrancheLocked,
)
from ledger.funding.schemas import CorrectionSchema
from ledger.funding.views import STAFF
from ledger.idempotency.services import HEADER_DOC, idempotent

blp = Blueprint("disbursements", __name__, description="Payments against approved requests")


@blp.route("/disbursements")
class Disbursements(MethodView):
    @requires(*STAFF, read=True)
    @blp.arguments(DisbursementListArgs, location="query")
    @blp.response(200, page_of(DisbursementSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List disbursements, by fund, request, payee, or value-date range."""
        stmt = select(Disbursement)
        for key in ("fund_id", "spending_request_id", "payee_id"):
            if key in args:
                stmt = stmt.where(getattr(Disbursement, key) == args[key])
        if "paid_from" in args:
            stmt = stmt.where(Disbursement.paid_on >= args["paid_from"])
        if "paid_to" in args:
            stmt = stmt.where(Disbursement.paid_on <= args["paid_to"])
        return paginate(db.session, stmt, Disbursement.id, args)

    @requires("treasurer")
    @idempotent
    @blp.doc(parameters=[HEADER_DOC])
    @problems(
        blp,
        NotFound,
        NotApproved,
        SeparationOfDuties,
        ExceedsApproval,
        TrancheLocked,
        PayeeRestricted,
        ReferenceInUse,
        IdempotencyKeyMissing,
        IdempotencyKeyReused,
        RequestInProgress,
    )
    @blp.arguments(DisbursementCreateSchema)
    @blp.response(201, DisbursementSchema)
    def post(self, data: dict[str, Any]) -> Disbursement:
        """Pay against an approved request, up to what remains of it. The payee is
        checked again now. Needs an Idempotency-Key."""
        return disburse(
            db.session,
            current_user(),
            spending_request_id=data["spending_request_id"],
            amount=parse_money(data),
            reference=data["reference"],
            paid_on=data["paid_on"] or today(),
            fx_rate=data["fx_rate"],
        )


@blp.route("/disbursements/<int:disbursement_id>")
class DisbursementById(MethodView):
    @requires(*STAFF, read=True)
    @blp.response(200, DisbursementSchema)
    def get(self, disbursement_id: int) -> Disbursement:
        """One disbursement, with the payee's screening state when it was paid."""
        return get_or_404(db.session, Disbursement, disbursement_id)


@blp.route("/disbursements/<int:disbursement_id>/reverse")
class ReverseDisbursement(MethodView):
    @requires("treasurer")
    @idempotent
    @problems(
        blp,
        NotFound,
        AlreadyReversed,
        NotApproved,
        PeriodClosed,
        IdempotencyKeyMissing,
        IdempotencyKeyReused,
        RequestInProgress,
    )
    @blp.doc(parameters=[HEADER_DOC])
    @blp.arguments(CorrectionSchema)
    @blp.response(200, DisbursementSchema)
    def post(self, data: dict[str, Any], disbursement_id: int) -> Disbursement:
        """A payment returned by the bank: a new entry puts the cash back and
        restores the commitment. Needs an Idempotency-Key."""
        return reverse_disbursement(
            db.session,
            current_user(),
            disbursement_id=disbursement_id,
            reason=data["reason"],
            value_date=data["value_date"] or today(),
        )
