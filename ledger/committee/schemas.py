import marshmallow as ma
from marshmallow import fields, validate

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
from ledger.committee.models import REQUEST_STATES


class TrancheInSchema(ma.Schema):
    amount = Amount(metadata={"description": "This tranche's amount (or give percent)"})
    percent = fields.Decimal(
        places=4,
        as_string=True,
        validate=validate.Range(min=0, min_inclusive=False, max=100),
        # apispec would document the Decimal bounds as strings ("0.0000"): invalid.
        metadata={
            "description": "This tranche's share of the request, in percent",
            "minimum": 0,
            "exclusiveMinimum": True,
            "maximum": 100,
        },
    )

    @ma.validates_schema
    def _one_of(self, data: dict[str, object], **kw: object) -> None:
        if ("amount" in data) == ("percent" in data):
            raise ma.ValidationError("Give a tranche an amount or a percent.")


class SpendingRequestCreateSchema(MoneySchemaMixin, ma.Schema):
    fund_id = Id(required=True, strict=True)
    project_id = Id(required=True, strict=True)
    payee_id = Id(required=True, strict=True)
    amount = Amount(required=True)
    currency = Currency(required=True)
    fx_rate = RateField(load_default=None)
    purpose = Text(2000)
    tranches = fields.List(
        fields.Nested(TrancheInSchema),
        load_default=None,
        validate=validate.Length(min=2, max=24),
        metadata={
            "description": "Optional schedule: tranche n+1 is payable once the payee's "
            "use of tranche n is accepted for the configured share (default 70%)"
        },
    )
    amends_request_id = Id(
        load_default=None,
        strict=True,
        metadata={"description": "For an increase: the approved request this one adds to"},
    )


class ReasonInSchema(ma.Schema):
    reason = Text(2000)


class DecreaseSchema(MoneySchemaMixin, ma.Schema):
    amount = Amount(required=True, metadata={"description": "The new, lower, total"})
    currency = Currency(required=True)
    reason = Text(2000)


class UseReportCreateSchema(ma.Schema):
    amount_used = Amount(required=True)
    currency = Currency(required=True)
    reference = Text(100)
    note = Text(2000, required=False, load_default=None)


class ReviewSchema(ma.Schema):
    note = Text(2000)


class ConflictCreateSchema(ma.Schema):
    payee_id = Id(required=True, strict=True)
    reason = Text(2000)


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
    created_at = fields.DateTime()


class TierSchema(ma.Schema):
    name = fields.String()
    up_to = fields.String(allow_none=True)
    approvals = fields.Integer()
    institutions = fields.Integer()
    chair = fields.Boolean()


class RequirementSchema(ma.Schema):
    approvals = fields.Integer()
    institutions = fields.Integer()
    chair = fields.Boolean()


class QuorumSchema(ma.Schema):
    status = fields.String(metadata={"description": "The request's status"})
    policy_version = fields.String()
    tier = fields.Nested(TierSchema)
    required = fields.Nested(
        RequirementSchema, metadata={"description": "The tier, computed without recused members"}
    )
    approvals = fields.Integer()
    rejections = fields.Integer()
    institutions = fields.List(fields.String())
    chair_approved = fields.Boolean()
    missing = fields.List(fields.String(), metadata={"description": "What is still needed"})
    recused_member_ids = fields.List(fields.Integer())


class TrancheSchema(ma.Schema):
    seq = fields.Integer()
    amount = fields.String()
    released = fields.Boolean()
    released_at = fields.DateTime(allow_none=True)
    paid = fields.String()
    use_accepted = fields.String()


class AmendmentSchema(ma.Schema):
    id = fields.Integer()
    spending_request_id = fields.Integer()
    kind = fields.String()
    old_amount = MinorAmount(attribute="old_minor")
    new_amount = MinorAmount(attribute="new_minor")
    currency = fields.String()
    reason = fields.String()
    actor_id = fields.Integer()
    created_at = fields.DateTime()


class UseReportSchema(ma.Schema):
    id = fields.Integer()
    spending_request_id = fields.Integer()
    tranche_id = fields.Integer()
    amount_used = MinorAmount(attribute="amount_used_minor")
    currency = fields.String()
    reference = fields.String()
    note = fields.String(allow_none=True)
    status = fields.String()
    reported_by = fields.Integer()
    reported_at = fields.DateTime()
    reviewed_by = fields.Integer(allow_none=True)
    reviewed_at = fields.DateTime(allow_none=True)
    review_note = fields.String(allow_none=True)
    created_at = fields.DateTime()


class ConflictSchema(ma.Schema):
    id = fields.Integer()
    member_id = fields.Integer()
    payee_id = fields.Integer()
    reason = fields.String()
    declared_at = fields.DateTime()
    withdrawn_at = fields.DateTime(allow_none=True)
    withdrawn_reason = fields.String(allow_none=True)
    active = fields.Function(lambda c: c.withdrawn_at is None)
    created_at = fields.DateTime()


class ConflictListArgs(PageArgs):
    member_id = Id()
    payee_id = Id()
    active = fields.Boolean()


class DecisionArgs(PageArgs):
    fund_id = Id()
    decided_from = fields.Date()
    decided_to = fields.Date()
    institution = fields.String(metadata={"description": "Requests a member of it voted on"})
    outcome = fields.String(
        validate=validate.OneOf(["approved", "rejected", "expired", "withdrawn", "cancelled"])
    )


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
    requested = MinorAmount(attribute="requested_minor")
    amends_request_id = fields.Integer(attribute="amends_id", allow_none=True)
    status = fields.String(attribute="current_status")
    closed_reason = fields.String(allow_none=True)
    tier = fields.String()
    policy_version = fields.String()
    submitted_by = fields.Integer()
    decided_at = fields.DateTime(allow_none=True)
    expires_at = fields.DateTime(allow_none=True)
    disbursed = MinorAmount(attribute="disbursed_minor")
    remaining = fields.Function(lambda r: str(r.remaining))
    votes = fields.List(fields.Nested(VoteSchema))
    quorum = fields.Nested(QuorumSchema)
    tranches = fields.List(fields.Nested(TrancheSchema), attribute="tranche_state")
    created_at = fields.DateTime()


class VoteResultSchema(ma.Schema):
    vote = fields.Nested(VoteSchema)
    spending_request = fields.Nested(SpendingRequestSchema)


class SpendingRequestListArgs(PageArgs):
    fund_id = Id()
    project_id = Id()
    payee_id = Id()
    status = fields.String(validate=validate.OneOf(REQUEST_STATES))
