"""Restrictions on payees, and the list of refused attempts."""

from typing import Any

from flask.views import MethodView
from sqlalchemy import select

from ledger.api import Blueprint, page_of, paginate, problems
from ledger.auth.access import current_user, requires
from ledger.compliance import services
from ledger.compliance.models import Refusal, Restriction
from ledger.compliance.schemas import (
    ReasonSchema,
    RefusalListArgs,
    RefusalSchema,
    RestrictionListArgs,
    RestrictionSchema,
)
from ledger.db import db, get_or_404
from ledger.errors import AlreadyLifted, NotFound, SeparationOfDuties
from ledger.funding.views import STAFF

blp = Blueprint("compliance", __name__, description="Restrictions and refused attempts")


@blp.route("/payees/<int:payee_id>/restrictions")
class PayeeRestrictions(MethodView):
    @requires(*STAFF, read=True)
    @blp.arguments(RestrictionListArgs, location="query")
    @blp.response(200, page_of(RestrictionSchema))
    def get(self, args: dict[str, Any], payee_id: int) -> dict[str, Any]:
        """A payee's restrictions, active and lifted."""
        return _restrictions({**args, "payee_id": payee_id})

    @requires("compliance")
    @problems(blp, NotFound)
    @blp.arguments(ReasonSchema)
    @blp.response(201, RestrictionSchema)
    def post(self, data: dict[str, Any], payee_id: int) -> Restriction:
        """Restrict a payee: no request, approving vote or payment for it from now on."""
        return services.restrict_payee(
            db.session, current_user(), payee_id=payee_id, reason=data["reason"]
        )


def _restrictions(args: dict[str, Any]) -> dict[str, Any]:
    stmt = select(Restriction)
    if "payee_id" in args:
        stmt = stmt.where(Restriction.payee_id == args["payee_id"])
    if "active" in args:
        lifted = Restriction.lifted_at.is_(None)
        stmt = stmt.where(lifted if args["active"] else ~lifted)
    return paginate(db.session, stmt, Restriction.id, args)


@blp.route("/restrictions")
class Restrictions(MethodView):
    @requires(*STAFF, read=True)
    @blp.arguments(RestrictionListArgs, location="query")
    @blp.response(200, page_of(RestrictionSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """All restrictions, by payee or active state."""
        return _restrictions(args)


@blp.route("/restrictions/<int:restriction_id>")
class RestrictionById(MethodView):
    @requires(*STAFF, read=True)
    @blp.response(200, RestrictionSchema)
    def get(self, restriction_id: int) -> Restriction:
        """One restriction."""
        return get_or_404(db.session, Restriction, restriction_id)


@blp.route("/restrictions/<int:restriction_id>/lift")
class LiftRestriction(MethodView):
    @requires("compliance")
    @problems(blp, NotFound, SeparationOfDuties, AlreadyLifted)
    @blp.arguments(ReasonSchema)
    @blp.response(200, RestrictionSchema)
    def post(self, data: dict[str, Any], restriction_id: int) -> Restriction:
        """Lift a restriction: a different compliance officer than the one who set it."""
        return services.lift_restriction(
            db.session, current_user(), restriction_id=restriction_id, reason=data["reason"]
        )


@blp.route("/refusals")
class Refusals(MethodView):
    @requires("compliance", "treasurer", read=True)
    @blp.arguments(RefusalListArgs, location="query")
    @blp.response(200, page_of(RefusalSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Every refused attempt: who, what, when, why, with evidence."""
        stmt = select(Refusal)
        for key in ("code", "payee_id", "spending_request_id", "actor_id"):
            if key in args:
                stmt = stmt.where(getattr(Refusal, key) == args[key])
        return paginate(db.session, stmt, Refusal.id, args)


@blp.route("/refusals/<int:refusal_id>")
class RefusalById(MethodView):
    @requires("compliance", "treasurer", read=True)
    @blp.response(200, RefusalSchema)
    def get(self, refusal_id: int) -> Refusal:
        """One refused attempt."""
        return get_or_404(db.session, Refusal, refusal_id)
