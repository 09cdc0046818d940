import marshmallow as ma
from marshmallow import fields, validate

from ledger.api import Id, PageArgs, Text


class ReasonSchema(ma.Schema):
    reason = Text(2000)


class RestrictionSchema(ma.Schema):
    id = fields.Integer()
    payee_id = fields.Integer()
    reason = fields.String()
    source = fields.String()
    evidence = fields.Dict(allow_none=True)
    active = fields.Boolean()
    set_by = fields.Integer()
    set_at = fields.DateTime()
    lifted_by = fields.Integer(allow_none=True)
    lifted_at = fields.DateTime(allow_none=True)
    lift_reason = fields.String(allow_none=True)
    created_at = fields.DateTime()


class RestrictionListArgs(PageArgs):
    payee_id = Id()
    active = fields.Boolean()


class RefusalSchema(ma.Schema):
    id = fields.Integer()
    occurred_at = fields.DateTime()
    actor_id = fields.Integer(allow_none=True)
    action = fields.String()
    code = fields.String()
    detail = fields.String()
    payee_id = fields.Integer(allow_none=True)
    spending_request_id = fields.Integer(allow_none=True)
    evidence = fields.Dict()
    request_id = fields.String(allow_none=True)
    created_at = fields.DateTime()


class RefusalListArgs(PageArgs):
    code = fields.String(validate=validate.Length(max=40))
    payee_id = Id()
    spending_request_id = Id()
    actor_id = Id()
