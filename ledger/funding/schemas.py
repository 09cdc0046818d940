import marshmallow as ma
from marshmallow import fields, validate

from ledger.api import (
    Amount,
    BaseAmount,
    Country,
    Currency,
    Id,
    MinorAmount,
    MoneySchemaMixin,
    PageArgs,
    RateField,
    Text,
)
from ledger.funding.models import DONOR_KINDS
from ledger.projects.models import SECTORS


class FundCreateSchema(ma.Schema):
    name = Text(200)
    base_currency = Currency(required=True)
    opens_on = fields.Date(
        load_default=None,
        metadata={"description": "No entry of the fund may be dated before it (optional)."},
    )


class FundSchema(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    base_currency = fields.String()
    opens_on = fields.Date(allow_none=True)
    created_at = fields.DateTime()


class DonorCreateSchema(ma.Schema):
    name = Text(200)
    kind = fields.String(required=True, validate=validate.OneOf(DONOR_KINDS))
    country = Country(required=True)
    iati_ref = Text(100, required=False, load_default=None)


class DonorSchema(DonorCreateSchema):
    id = fields.Integer()
    created_at = fields.DateTime()


class DonorListArgs(PageArgs):
    kind = fields.String(validate=validate.OneOf(DONOR_KINDS))
    country = fields.String()


class EarmarkSchema(ma.Schema):
    sector = fields.String(validate=validate.OneOf(SECTORS), allow_none=True)
    location = Text(100, required=False, allow_none=True)
    project_id = Id(allow_none=True, strict=True)

    @ma.validates_schema
    def _not_empty(self, data: dict[str, object], **kw: object) -> None:
        if not any(data.get(k) for k in ("sector", "location", "project_id")):
            raise ma.ValidationError("An earmark names a sector, a location or a project.")


class PledgeCreateSchema(MoneySchemaMixin, ma.Schema):
    fund_id = Id(required=True, strict=True)
    donor_id = Id(required=True, strict=True)
    amount = Amount(required=True)
    currency = Currency(required=True)
    pledged_on = fields.Date(required=True)
    fx_rate = RateField(load_default=None)
    earmark = fields.Nested(EarmarkSchema, load_default=None, allow_none=True)


class PledgeSchema(ma.Schema):
    id = fields.Integer()
    fund_id = fields.Integer()
    donor_id = fields.Integer()
    donor = fields.Function(lambda p: p.donor.name)
    amount = MinorAmount(attribute="amount_minor")
    currency = fields.String()
    fx_rate = RateField(allow_none=True)
    base_currency = fields.String()
    base_amount = BaseAmount(attribute="base_amount_minor")
    received = MinorAmount(attribute="received_minor")
    outstanding = fields.Function(lambda p: str(p.outstanding))
    pledged_on = fields.Date()
    earmark = fields.Dict(allow_none=True)
    status = fields.String()
    created_at = fields.DateTime()


class PledgeListArgs(PageArgs):
    fund_id = Id()
    donor_id = Id()
    currency = fields.String()
    status = fields.String(validate=validate.OneOf(["active", "cancelled"]))


class ContributionCreateSchema(MoneySchemaMixin, ma.Schema):
    amount = Amount(required=True)
    currency = Currency(required=True)
    received_on = fields.Date(required=True)
    reference = Text(100)
    fx_rate = RateField(load_default=None)
    over_contribution = fields.Boolean(
        load_default=False,
        metadata={"description": "Accept more than the pledge's outstanding amount"},
    )


class ContributionSchema(ma.Schema):
    id = fields.Integer()
    pledge_id = fields.Integer()
    fund_id = fields.Integer()
    donor_id = fields.Integer()
    amount = MinorAmount(attribute="amount_minor")
    currency = fields.String()
    fx_rate = RateField(allow_none=True)
    base_currency = fields.String()
    base_amount = BaseAmount(attribute="base_amount_minor")
    over_contribution = MinorAmount(attribute="over_minor")
    received_on = fields.Date()
    reference = fields.String()
    created_at = fields.DateTime()


class ContributionListArgs(PageArgs):
    fund_id = Id()
    pledge_id = Id()
    received_from = fields.Date()
    received_to = fields.Date()


class PledgeAmendSchema(MoneySchemaMixin, ma.Schema):
    amount = Amount(required=True, metadata={"description": "The new total of the pledge"})
    currency = Currency(required=True)
    reason = Text(2000)
    value_date = fields.Date(load_default=None, metadata={"description": "Default: today"})


class CorrectionSchema(ma.Schema):
    reason = Text(2000)
    value_date = fields.Date(load_default=None, metadata={"description": "Default: today"})


class PledgeAmendmentSchema(ma.Schema):
    id = fields.Integer()
    pledge_id = fields.Integer()
    kind = fields.String()
    old_amount = fields.String()
    new_amount = fields.String()
    value_date = fields.Date()
    reason = fields.String()
    actor_id = fields.Integer()
    created_at = fields.DateTime()


class PeriodCloseSchema(ma.Schema):
    period = fields.String(
        required=True, metadata={"description": "A month that has ended", "example": "2021-06"}
    )
    reason = Text(2000)


class ClosedPeriodSchema(ma.Schema):
    id = fields.Integer()
    fund_id = fields.Integer()
    period = fields.String()
    starts_on = fields.Date()
    ends_on = fields.Date()
    reason = fields.String()
    closed_by = fields.Integer()
    closed_at = fields.DateTime()
    created_at = fields.DateTime()


class TraceUseSchema(ma.Schema):
    kind = fields.String(metadata={"description": "disbursed, or committed (not yet paid)"})
    spending_request_id = fields.Integer()
    disbursement_id = fields.Integer()
    project_id = fields.Integer()
    project = fields.String()
    sector = fields.String()
    location = fields.String()
    payee_id = fields.Integer()
    payee = fields.String()
    date = fields.String()
    amount = fields.String()


class TraceContributionSchema(ma.Schema):
    contribution_id = fields.Integer()
    pledge_id = fields.Integer()
    fund_id = fields.Integer()
    received_on = fields.String()
    reference = fields.String()
    currency = fields.String()
    amount = fields.String()
    base_currency = fields.String()
    base_amount = fields.String()
    reversed = fields.Boolean()
    disbursed = fields.String()
    committed = fields.String()
    free = fields.String()
    uses = fields.List(fields.Nested(TraceUseSchema))


class TraceTotalsSchema(ma.Schema):
    base_currency = fields.String()
    contributed = fields.String()
    disbursed = fields.String()
    committed = fields.String()
    free = fields.String()


class DonorTraceSchema(ma.Schema):
    donor_id = fields.Integer()
    donor = fields.String()
    as_of = fields.Date(allow_none=True)
    contributions = fields.List(fields.Nested(TraceContributionSchema))
    totals = fields.List(fields.Nested(TraceTotalsSchema))


class AvailableArgs(ma.Schema):
    fund_id = Id(required=True)


class AvailableRowSchema(ma.Schema):
    earmark = fields.Dict(allow_none=True)
    available = fields.String()
