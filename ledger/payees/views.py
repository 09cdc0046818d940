"""Payees: who is paid, and who stands behind them."""

from typing import Any

from flask.views import MethodView
from sqlalchemy import select

from ledger.api import Blueprint, page_of, paginate
from ledger.auth.access import current_user, requires
from ledger.compliance.payability import payment_blocks
from ledger.db import db, get_or_404
from ledger.funding.views import STAFF
from ledger.payees.models import Payee
from ledger.payees.schemas import (
    PayeeChangeSchema,
    PayeeCreateSchema,
    PayeeListArgs,
    PayeeSchema,
    RelatedPartyInSchema,
)
from ledger.payees.services import add_related_party, create_payee, update_payee

blp = Blueprint("payees", __name__, description="Payees and their related parties")


def with_state(payee: Payee) -> Payee:
    """Attach what blocks payment now, for display."""
    blocks = payment_blocks(db.session, payee)
    payee.blocks = blocks  # type: ignore[attr-defined]
    payee.payable = not blocks  # type: ignore[attr-defined]
    return payee


@blp.route("/payees")
class Payees(MethodView):
    @requires(*STAFF, read=True)
    @blp.arguments(PayeeListArgs, location="query")
    @blp.response(200, page_of(PayeeSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List payees, by kind, country or part of the name."""
        stmt = select(Payee)
        for key in ("kind", "country"):
            if key in args:
                stmt = stmt.where(getattr(Payee, key) == args[key])
        if "name" in args:
            stmt = stmt.where(Payee.name.ilike(f"%{args['name']}%"))
        page = paginate(db.session, stmt, Payee.id, args)
        page["items"] = [with_state(p) for p in page["items"]]
        return page

    @requires("clerk")
    @blp.arguments(PayeeCreateSchema)
    @blp.response(201, PayeeSchema)
    def post(self, data: dict[str, Any]) -> Payee:
        """Register a payee with its aliases, identifiers and related parties."""
        return with_state(create_payee(db.session, current_user(), **data))


@blp.route("/payees/<int:payee_id>")
class PayeeById(MethodView):
    @requires(*STAFF, read=True)
    @blp.response(200, PayeeSchema)
    def get(self, payee_id: int) -> Payee:
        """One payee, with whether it can be paid now and what blocks it."""
        return with_state(get_or_404(db.session, Payee, payee_id))

    @requires("clerk")
    @blp.arguments(PayeeChangeSchema)
    @blp.response(200, PayeeSchema)
    def patch(self, data: dict[str, Any], payee_id: int) -> Payee:
        """Correct a payee's names, identifiers or details; it is screened again."""
        return with_state(update_payee(db.session, current_user(), payee_id, data))


@blp.route("/payees/<int:payee_id>/related-parties")
class RelatedParties(MethodView):
    @requires("clerk")
    @blp.arguments(RelatedPartyInSchema)
    @blp.response(201, PayeeSchema)
    def post(self, data: dict[str, Any], payee_id: int) -> Payee:
        """Add an owner, director or signatory; the payee is screened again."""
        return with_state(add_related_party(db.session, current_user(), payee_id, data))
