import marshmallow as ma
from marshmallow import fields

from ledger.api import (
    Amount,
    BaseAmount,
    Currency,
    Id,
    MinorAmount,
    MoneySchemaMixin,
    PageArgs,
    RateField,
    Text,
)


class DisbursementCreateSchema(MoneySchemaMixin, ma.Schema):
    spending_request_id = Id(required=True, strict=True)
    amount = Amount(required=True)
    currency = Currency(required=True)
    reference = Text(100)
    fx_rate = RateField(load_default=None)
    paid_on = fields.Date(load_default=None, metadata={"description": "Value date; today"})


class DisbursementSchema(ma.Schema):
    id = fields.Integer()
    spending_request_id = fields.Integer()
    fund_id = fields.Integer()
    payee_id = fields.Integer()
    amount = MinorAmount(attribute="amount_minor")
    currency = fields.String()
    fx_rate = RateField(allow_none=True)
    base_currency = fields.String()
    base_amount = BaseAmount(attribute="base_amount_minor")
    reference = fields.String()
    paid_on = fields.Date()
    screening = fields.Dict()
    created_by = fields.Integer()
    created_at = fields.DateTime()


class DisbursementListArgs(PageArgs):
    fund_id = Id()
    spending_request_id = Id()
    payee_id = Id()
    paid_from = fields.Date()
    paid_to = fields.Date()
