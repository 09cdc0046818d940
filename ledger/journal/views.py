"""The journal: every money event as a balanced entry."""

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from marshmallow import fields
from sqlalchemy import select

from ledger.api import Blueprint, Id, MinorAmount, PageArgs, page_of, paginate
from ledger.auth.access import requires
from ledger.db import db, get_or_404
from ledger.journal.models import JournalEntry

blp = Blueprint("journal", __name__, description="The double-entry journal")


class JournalLineSchema(ma.Schema):
    id = fields.Integer()
    account = fields.String()
    currency = fields.String()
    amount = MinorAmount(attribute="amount_minor", metadata={"description": "Debit +, credit -"})
    base_amount = fields.Integer(
        attribute="base_amount_minor", metadata={"description": "Base currency, minor units"}
    )
    donor_id = fields.Integer(allow_none=True)
    pledge_id = fields.Integer(allow_none=True)
    project_id = fields.Integer(allow_none=True)
    payee_id = fields.Integer(allow_none=True)
    spending_request_id = fields.Integer(allow_none=True)


class JournalEntrySchema(ma.Schema):
    id = fields.Integer()
    fund_id = fields.Integer()
    kind = fields.String()
    value_date = fields.Date()
    memo = fields.String()
    source_type = fields.String()
    source_id = fields.Integer()
    reverses_id = fields.Integer(allow_none=True)
    created_by = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    lines = fields.List(fields.Nested(JournalLineSchema))


class JournalListArgs(PageArgs):
    fund_id = Id()
    kind = fields.String()
    source_type = fields.String()
    source_id = Id()
    date_from = fields.Date()
    date_to = fields.Date()


@blp.route("/journal/entries")
class JournalEntries(MethodView):
    @requires("treasurer", "compliance", read=True)
    @blp.arguments(JournalListArgs, location="query")
    @blp.response(200, page_of(JournalEntrySchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Journal entries with their lines, by fund, kind, source or value date."""
        stmt = select(JournalEntry)
        for key in ("fund_id", "kind", "source_type", "source_id"):
            if key in args:
                stmt = stmt.where(getattr(JournalEntry, key) == args[key])
        if "date_from" in args:
            stmt = stmt.where(JournalEntry.value_date >= args["date_from"])
        if "date_to" in args:
            stmt = stmt.where(JournalEntry.value_date <= args["date_to"])
        return paginate(db.session, stmt, JournalEntry.id, args)


@blp.route("/journal/entries/<int:entry_id>")
class JournalEntryById(MethodView):
    @requires("treasurer", "compliance", read=True)
    @blp.response(200, JournalEntrySchema)
    def get(self, entry_id: int) -> JournalEntry:
        """One journal entry."""
        return get_or_404(db.session, JournalEntry, entry_id)
