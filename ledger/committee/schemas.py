import marshmallow as ma
from marshmallow import fields, validate

from ledger.api import (
    Amount,
    BaseAmount,
    Currency,
    MinorAmount,
    MoneySchemaMixin,
    PageArgs,
    RateField,
    Text,
)
from ledger.committee.models import REQUEST_STATES


class SpendingRequestCreateSchema(MoneySchemaMixin, ma.Schema):
    fund_id = fields.Integer(required=True, validate=validate.Range(min=1))
    project_id = fields.Integer(required=True, validate=validate.Range(min=1))
    payee_id = fields.Integer(required=True, validate=validate.Range(min=1))
    amount = Amount(required=True)
    currency = Currency(required=True)
    fx_rate = RateField(load_default=None)
    purpose = Text(2000)


class VoteCreateSchema(ma.Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["approve", "reject"]))
    comment = Text(2000)


class VoteSchema(ma.Schema):
    id = fields.Integer()
    spending_request_id = fields.Integer()
    member_id = fields.Integer()
    institution = fields.String()
    is_chair = fields.Boolean()
    decision = fields.String()
    comment = fields.String()
    cast_at = fields.DateTime()


class QuorumSchema(ma.Schema):
    status = fields.String(metadata={"description": "approved, rejected or pending"})
    approvals = fields.Integer()
    rejections = fields.Integer()
    institutions = fields.List(fields.String())
    chair_approved = fields.Boolean()
    missing = fields.List(fields.String(), metadata={"description": "What is still needed"})


class SpendingRequestSchema(ma.Schema):
    id = fields.Integer()
    fund_id = fields.Integer()
    project_id = fields.Integer()
    payee_id = fields.Integer()
    amount = MinorAmount(attribute="amount_minor")
    currency = fields.String()
    fx_rate = RateField(allow_none=True)
    base_currency = fields.String()
    base_amount = BaseAmount(attribute="base_amount_minor")
    purpose = fields.String()
    status = fields.String()
    tier = fields.String()
    policy_version = fields.String()
    submitted_by = fields.Integer()
    decided_at = fields.DateTime(allow_none=True)
    expires_at = fields.DateTime(allow_none=True)
    disbursed = MinorAmount(attribute="disbursed_minor")
    remaining = fields.Function(lambda r: str(r.remaining))
    votes = fields.List(fields.Nested(VoteSchema))
    quorum = fields.Nested(QuorumSchema)
    created_at = fields.DateTime()


class VoteResultSchema(ma.Schema):
    vote = fields.Nested(VoteSchema)
    spending_request = fields.Nested(SpendingRequestSchema)


class SpendingRequestListArgs(PageArgs):
    fund_id = fields.Integer()
    project_id = fields.Integer()
    payee_id = fields.Integer()
    status = fields.String(validate=validate.OneOf(REQUEST_STATES))
