"""Reports for auditors: computed in the database, as of any date, in any format.

``GET /reports`` lists them; ``GET /reports/{name}`` runs one, as JSON or, by
``format=`` or the ``Accept`` header, CSV, XLSX or PDF. Fund position and trial
balance keep their own JSON shape at their own paths (the other formats are the
registry's, like every report); ``GET /reports/iati`` is the IATI 2.03 export.
"""

from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from flask import Response, request
from flask.views import MethodView
from marshmallow import fields, validate

from ledger.api import AsOfArgs, Blueprint, Id, problems
from ledger.auth.access import current_user, requires
from ledger.db import db, get_or_404
from ledger.errors import NotFound, ValidationFailed
from ledger.funding.models import Donor, Fund, Pledge
from ledger.funding.schemas import DonorTraceSchema
from ledger.funding.trace import donor_trace
from ledger.reports.formats import (
    FORMATS,
    MEDIA_TYPES,
    NotAcceptable,
    choose_format,
)
from ledger.reports.registry import REPORTS, ReportParams, get_report, report_names
from ledger.reports.services import FIGURES, fund_position, report_file, trial_balance_report

blp = Blueprint("reports", __name__, description="Reports for auditors")

READERS = ("treasurer", "compliance")


def _formats_doc(json_schema: str, *alternatives: str) -> dict[str, Any]:
    """The 200 answer in every format (``@blp.doc`` replaces the generated content);
    ``alternatives``: other JSON shapes the operation may answer (one of them)."""
    refs = [{"$ref": f"#/components/schemas/{name}"} for name in (json_schema, *alternatives)]
    content: dict[str, Any] = {
        "application/json": {"schema": refs[0] if len(refs) == 1 else {"oneOf": refs}}
    }
    for fmt, media in MEDIA_TYPES.items():
        if fmt != "json":
            content[media] = {"schema": {"type": "string", "format": "binary"}}
    return {
        "200": {
            "description": "The report: JSON, or by `format=` or `Accept` CSV, XLSX or PDF",
            "content": content,
        }
    }


class FundReportArgs(AsOfArgs):
    fund_id = Id(required=True)


class ReportArgs(AsOfArgs):
    fund_id = Id(metadata={"description": "The fund (required by every report of one fund)"})
    format = fields.String(
        validate=validate.OneOf(FORMATS),
        metadata={"description": "json, csv, xlsx or pdf; else the Accept header decides"},
    )


class FormatArgs(FundReportArgs):
    format = ReportArgs._declared_fields["format"]


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


class ReportColumnSchema(ma.Schema):
    key = fields.String()
    title = fields.String()
    type = fields.String(metadata={"description": "text, int, date, datetime, money, percent"})
    currency = fields.String(
        metadata={"description": "For money: 'base', or the row key holding the currency"}
    )


class ChainHeadSchema(ma.Schema):
    seq = fields.Integer()
    hash = fields.String()


class CheckpointRefSchema(ChainHeadSchema):
    signed_at = fields.String()


class ReportSchema(ma.Schema):
    """A report as a table: the same rows and totals as its CSV, XLSX and PDF."""

    report = fields.String()
    title = fields.String()
    fund_id = fields.Integer(allow_none=True)
    fund = fields.String(allow_none=True)
    base_currency = fields.String(allow_none=True)
    as_of = fields.String(allow_none=True)
    generated_at = fields.String()
    generated_by = fields.String(allow_none=True)
    audit_chain_head = fields.Nested(ChainHeadSchema)
    latest_checkpoint = fields.Nested(
        CheckpointRefSchema,
        allow_none=True,
        metadata={"description": "The latest signed checkpoint of the chain, if any"},
    )
    columns = fields.List(fields.Nested(ReportColumnSchema))
    rows = fields.List(fields.Dict(), metadata={"description": "Amounts are decimal strings"})
    totals = fields.List(fields.Dict())
    notes = fields.Dict()


class ReportInfoSchema(ma.Schema):
    name = fields.String()
    title = fields.String()
    description = fields.String()
    needs_fund = fields.Boolean()


def export(name: str, args: dict[str, Any]) -> Response:
    """Run report ``name`` and answer it in the format asked for."""
    get_report(name)  # an unknown name is a 404 before anything else
    fmt = choose_format(args.get("format"), request.accept_mimetypes)
    params = ReportParams(
        args.get("fund_id"), args.get("as_of"), current_user().name, args.get("donor_id")
    )
    return report_file(db.session, name, fmt, params).response()


def _wants_table(args: dict[str, Any]) -> bool:
    return choose_format(args.get("format"), request.accept_mimetypes) != "json"


@blp.route("/reports")
class ReportList(MethodView):
    @requires(*READERS, read=True)
    @blp.response(200, ReportInfoSchema(many=True))
    @problems(blp)
    def get(self) -> list[dict[str, Any]]:
        """The reports this API runs, by name (IATI: ``/reports/iati``)."""
        return [
            {
                "name": name,
                "title": REPORTS[name].title,
                "description": REPORTS[name].description,
                "needs_fund": REPORTS[name].needs_fund,
            }
            for name in report_names()
        ]


# Reports with a route of their own, whose JSON has a shape of its own: the generic
# route below is not theirs (its path would reach them, with another answer).
OWN_ROUTES = frozenset({"donor-trace", "fund-position", "trial-balance", "iati"})


def _generic_names() -> list[str]:
    return [name for name in report_names() if name not in OWN_ROUTES]


@blp.route("/reports/<string:name>")
class NamedReport(MethodView):
    @requires(*READERS, read=True)
    @blp.arguments(ReportArgs, location="query")
    @blp.response(200, ReportSchema)
    @blp.doc(
        responses=_formats_doc("Report"),
        parameters=[
            {
                "in": "path",
                "name": "name",
                "required": True,
                "description": "A report of `GET /reports` without a route of its own",
                "schema": {"type": "string", "enum": _generic_names()},
            }
        ],
    )
    @problems(blp, NotFound, NotAcceptable, ValidationFailed)
    def get(self, args: dict[str, Any], name: str) -> Response:
        """Run a report (see ``GET /reports``) as of a date: JSON, CSV, XLSX or PDF.

        An unknown name is `404 not_found`; an unknown `format` `422
        validation_error`; an `Accept` header no format satisfies `406
        not_acceptable`; a report of one fund without `fund_id` `422`."""
        return export(name, args)


@blp.route("/reports/iati")
class IatiExport(MethodView):
    @requires(*READERS, read=True)
    @blp.arguments(FundReportArgs, location="query")
    @blp.response(200, {"type": "string"}, content_type="application/xml")
    @problems(blp, NotFound, ValidationFailed)
    def get(self, args: dict[str, Any]) -> Response:
        """The fund's projects as IATI 2.03 activities: incoming pledges (13), incoming
        funds (1), outgoing commitments (2) and disbursements (3)."""
        from ledger.reports.iati import iati_activities

        fund = get_or_404(db.session, Fund, args["fund_id"])
        body = iati_activities(db.session, fund, args["as_of"])
        return Response(body, mimetype="application/xml")


class DonorTraceArgs(ReportArgs):
    donor_id = Id(
        metadata={
            "description": "One donor's trace, across funds (JSON); in CSV, XLSX or PDF, "
            "the donor's statement for the fund"
        }
    )

    @ma.validates_schema
    def _who(self, data: dict[str, Any], **kw: Any) -> None:
        if "donor_id" not in data and "fund_id" not in data:
            raise ma.ValidationError(
                "Name a donor (donor_id), or a fund (fund_id) for every donor of it.",
                field_name="donor_id",
            )


@blp.route("/reports/donor-trace")
class DonorTrace(MethodView):
    @requires(*READERS, read=True)
    @blp.arguments(DonorTraceArgs, location="query")
    @blp.response(200, DonorTraceSchema)
    @blp.doc(responses=_formats_doc("DonorTrace", "Report"))
    @problems(blp, NotFound, NotAcceptable, ValidationFailed)
    def get(self, args: dict[str, Any]) -> Any:
        """Where a donor's money went: each contribution, the commitments it backs and
        the payments it made (project, payee, disbursement, date), what is still
        committed and what is free. With `fund_id` (or a CSV, XLSX or PDF format):
        the table for every donor of the fund."""
        if "donor_id" in args and not _wants_table(args):
            donor = get_or_404(db.session, Donor, args["donor_id"])
            return donor_trace(db.session, donor, args["as_of"])
        if "fund_id" not in args and "donor_id" in args:
            # A donor's statement: of the one fund it pledged to.
            get_or_404(db.session, Donor, args["donor_id"])
            funds = db.session.scalars(
                sa.select(Pledge.fund_id).where(Pledge.donor_id == args["donor_id"]).distinct()
            ).all()
            if len(funds) == 1:
                args = {**args, "fund_id": funds[0]}
        if "fund_id" not in args:
            raise ValidationFailed(
                "fund_id",
                "The table form is per fund: name the fund (the donor's statement "
                "of one fund, with donor_id).",
            )
        return export("donor-trace", args)


@blp.route("/reports/fund-position")
class FundPosition(MethodView):
    @requires(*READERS, read=True)
    @blp.arguments(FormatArgs, location="query")
    @blp.response(200, FundPositionSchema)
    @blp.doc(responses=_formats_doc("FundPosition"))
    @problems(blp, NotFound, NotAcceptable, ValidationFailed)
    def get(self, args: dict[str, Any]) -> Any:
        """Pledged, received, outstanding, committed, disbursed, committed-not-disbursed
        and available: per currency and in base currency, as of a date. CSV, XLSX and
        PDF are the table of ``GET /reports/fund-position`` in the registry."""
        if _wants_table(args):
            return export("fund-position", args)
        fund = get_or_404(db.session, Fund, args["fund_id"])
        return fund_position(db.session, fund, args["as_of"])


@blp.route("/reports/trial-balance")
class TrialBalance(MethodView):
    @requires(*READERS, read=True)
    @blp.arguments(FormatArgs, location="query")
    @blp.response(200, TrialBalanceSchema)
    @blp.doc(responses=_formats_doc("TrialBalance"))
    @problems(blp, NotFound, NotAcceptable, ValidationFailed)
    def get(self, args: dict[str, Any]) -> Any:
        """Debits and credits per account and currency; they balance at every instant."""
        if _wants_table(args):
            return export("trial-balance", args)
        fund = get_or_404(db.session, Fund, args["fund_id"])
        return trial_balance_report(db.session, fund, args["as_of"])
