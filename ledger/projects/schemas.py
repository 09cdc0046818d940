import marshmallow as ma
from marshmallow import fields, validate

from ledger.api import Amount, BaseAmount, Id, PageArgs, Text
from ledger.projects.models import SECTORS


class ProjectCreateSchema(ma.Schema):
    fund_id = Id(required=True, strict=True)
    name = Text(200)
    sector = fields.String(required=True, validate=validate.OneOf(SECTORS))
    location = Text(100)
    budget = Amount(
        load_default=None,
        metadata={"description": "Optional ceiling, in the fund's base currency"},
    )


class ProjectSchema(ma.Schema):
    id = fields.Integer()
    fund_id = fields.Integer()
    name = fields.String()
    sector = fields.String()
    location = fields.String()
    base_currency = fields.String()
    budget = BaseAmount(attribute="budget_minor", allow_none=True)
    created_at = fields.DateTime()


class ProjectListArgs(PageArgs):
    fund_id = Id()
    sector = fields.String(validate=validate.OneOf(SECTORS))
    location = fields.String()
