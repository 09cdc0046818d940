"""Spending requests and the committee's votes."""

from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from ledger.api import page_of, paginate, parse_money
from ledger.auth.access import current_user, requires
from ledger.committee import services
from ledger.committee.models import SpendingRequest, Vote
from ledger.committee.policy import QuorumPolicy
from ledger.committee.schemas import (
    SpendingRequestCreateSchema,
    SpendingRequestListArgs,
    SpendingRequestSchema,
    VoteCreateSchema,
    VoteResultSchema,
    VoteSchema,
)
from ledger.db import db, get_or_404
from ledger.funding.views import STAFF

blp = Blueprint(
    "committee", __name__, description="Spending requests and the committee's votes on them"
)


def policy() -> QuorumPolicy:
    quorum: QuorumPolicy = current_app.extensions["ledger.quorum_policy"]
    return quorum


def with_quorum(request: SpendingRequest) -> SpendingRequest:
    """Attach the quorum state (what is still missing) for display."""
    request.quorum = services.outcome_of(policy(), request, request.fund)  # type: ignore[attr-defined]
    return request


@blp.route("/spending-requests")
class SpendingRequests(MethodView):
    @requires(*STAFF, read=True)
    @blp.arguments(SpendingRequestListArgs, location="query")
    @blp.response(200, page_of(SpendingRequestSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List spending requests, by fund, project, payee or status."""
        stmt = select(SpendingRequest)
        for key in ("fund_id", "project_id", "payee_id", "status"):
            if key in args:
                stmt = stmt.where(getattr(SpendingRequest, key) == args[key])
        page = paginate(db.session, stmt, SpendingRequest.id, args)
        page["items"] = [with_quorum(r) for r in page["items"]]
        return page

    @requires("clerk")
    @blp.arguments(SpendingRequestCreateSchema)
    @blp.response(201, SpendingRequestSchema)
    def post(self, data: dict[str, Any]) -> SpendingRequest:
        """Ask the committee to commit money to a project for a payee."""
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
        )
        return with_quorum(request)


@blp.route("/spending-requests/<int:request_id>")
class SpendingRequestById(MethodView):
    @requires(*STAFF, read=True)
    @blp.response(200, SpendingRequestSchema)
    def get(self, request_id: int) -> SpendingRequest:
        """One request: its votes, its tier, what is still missing, the policy version."""
        return with_quorum(get_or_404(db.session, SpendingRequest, request_id))


@blp.route("/spending-requests/<int:request_id>/votes")
class Votes(MethodView):
    @requires(*STAFF, read=True)
    @blp.response(200, VoteSchema(many=True))
    def get(self, request_id: int) -> list[Vote]:
        """The votes cast on a request, in order."""
        return get_or_404(db.session, SpendingRequest, request_id).votes

    @requires("committee_member")
    @blp.arguments(VoteCreateSchema)
    @blp.response(201, VoteResultSchema)
    def post(self, data: dict[str, Any], request_id: int) -> dict[str, Any]:
        """Vote to approve or reject. The answer shows the request's new state; the
        deciding approval commits the money."""
        request, vote, _outcome = services.cast_vote(
            db.session, current_user(), policy(), request_id=request_id, **data
        )
        return {"vote": vote, "spending_request": with_quorum(request)}
