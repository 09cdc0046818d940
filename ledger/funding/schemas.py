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


class FundSchema(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    base_currency = fields.String()
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
