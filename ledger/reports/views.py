"""Reports for auditors: computed in the database, as of any date."""

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields

from ledger.api import AsOfArgs, Id
from ledger.auth.access import requires
from ledger.db import db, get_or_404
from ledger.funding.models import Fund
from ledger.journal.services import trial_balance
from ledger.money import format_minor, minor_units
from ledger.reports.services import FIGURES, fund_position

blp = Blueprint("reports", __name__, description="Reports for auditors")

READERS = ("treasurer", "compliance")


class FundReportArgs(AsOfArgs):
    fund_id = Id(required=True)


_figures = {name: fields.String() for name in FIGURES}
CurrencyPositionSchema = ma.Schema.from_dict(
    {"currency": fields.String(), **_figures}, name="CurrencyPositionSchema"
)
BasePositionSchema = ma.Schema.from_dict(
    {**_figures, "available": fields.String(), "fx_differences": fields.String()},
    name="BasePositionSchema",
)


class FundPositionSchema(ma.Schema):
    fund_id = fields.Integer()
    fund = fields.String()
    base_currency = fields.String()
    as_of = fields.Date(allow_none=True)
    base = fields.Nested(BasePositionSchema)
    by_currency = fields.List(fields.Nested(CurrencyPositionSchema))


class TrialBalanceRowSchema(ma.Schema):
    account = fields.String()
    currency = fields.String()
    debit = fields.String()
    credit = fields.String()
    base_debit = fields.String()
    base_credit = fields.String()


class TrialBalanceSchema(ma.Schema):
    fund_id = fields.Integer()
    base_currency = fields.String()
    as_of = fields.Date(allow_none=True)
    rows = fields.List(fields.Nested(TrialBalanceRowSchema))
    totals = fields.Dict(metadata={"description": "Debits and credits per currency and base"})
    balanced = fields.Boolean()


@blp.route("/reports/fund-position")
class FundPosition(MethodView):
    @requires(*READERS, read=True)
    @blp.arguments(FundReportArgs, location="query")
    @blp.response(200, FundPositionSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Pledged, received, outstanding, committed, disbursed, committed-not-disbursed
        and available: per currency and in base currency, as of a date."""
        fund = get_or_404(db.session, Fund, args["fund_id"])
        return fund_position(db.session, fund, args["as_of"])


@blp.route("/reports/trial-balance")
class TrialBalance(MethodView):
    @requires(*READERS, read=True)
    @blp.arguments(FundReportArgs, location="query")
    @blp.response(200, TrialBalanceSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Debits and credits per account and currency; they balance at every instant."""
        fund = get_or_404(db.session, Fund, args["fund_id"])
        rows = trial_balance(db.session, fund.id, args["as_of"])
        base_digits = minor_units(fund.base_currency)
        totals: dict[str, dict[str, str]] = {}
        sums: dict[str, list[int]] = {}
        for r in rows:
            sums.setdefault(r.currency, [0, 0])
            sums[r.currency][0] += r.debit_minor
            sums[r.currency][1] += r.credit_minor
        base_debit = sum(r.base_debit_minor for r in rows)
        base_credit = sum(r.base_credit_minor for r in rows)
        for currency, (debit, credit) in sums.items():
            digits = minor_units(currency)
            totals[currency] = {
                "debit": format_minor(debit, digits),
                "credit": format_minor(credit, digits),
            }
        totals["base"] = {
            "debit": format_minor(base_debit, base_digits),
            "credit": format_minor(base_credit, base_digits),
        }
        return {
            "fund_id": fund.id,
            "base_currency": fund.base_currency,
            "as_of": args["as_of"],
            "rows": [
                {
                    "account": r.account,
                    "currency": r.currency,
                    "debit": format_minor(r.debit_minor, minor_units(r.currency)),
                    "credit": format_minor(r.credit_minor, minor_units(r.currency)),
                    "base_debit": format_minor(r.base_debit_minor, base_digits),
                    "base_credit": format_minor(r.base_credit_minor, base_digits),
                }
                for r in rows
            ],
            "totals": totals,
            "balanced": base_debit == base_credit and all(d == c for d, c in sums.values()),
        }
