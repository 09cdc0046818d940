import marshmallow as ma
from marshmallow import fields, validate

from ledger.api import Country, Id, PageArgs, Text
from ledger.payees.models import PARTY_KINDS, PARTY_ROLES, PAYEE_KINDS
from ledger.payees.services import mask_account


class IdentifierSchema(ma.Schema):
    type = Text(50)
    value = Text(100)


class RelatedPartyInSchema(ma.Schema):
    name = Text(300)
    kind = fields.String(required=True, validate=validate.OneOf(PARTY_KINDS))
    role = fields.String(required=True, validate=validate.OneOf(PARTY_ROLES))
    aliases = fields.List(Text(300), load_default=list, validate=validate.Length(max=50))
    original_script_name = Text(300, required=False, load_default=None)
    birth_date = fields.Date(load_default=None)
    linked_payee_id = Id(
        load_default=None,
        strict=True,
        metadata={"description": "The payee this party also is, if registered"},
    )


class RelatedPartySchema(RelatedPartyInSchema):
    id = fields.Integer()


class PayeeCreateSchema(ma.Schema):
    name = Text(300)
    kind = fields.String(required=True, validate=validate.OneOf(PAYEE_KINDS))
    country = Country(required=True)
    aliases = fields.List(Text(300), load_default=list, validate=validate.Length(max=50))
    original_script_name = Text(300, required=False, load_default=None)
    identifiers = fields.List(
        fields.Nested(IdentifierSchema), load_default=list, validate=validate.Length(max=20)
    )
    birth_date = fields.Date(load_default=None)
    bank_account = Text(64, required=False, load_default=None)
    related_parties = fields.List(
        fields.Nested(RelatedPartyInSchema), load_default=list, validate=validate.Length(max=50)
    )


class PayeeChangeSchema(ma.Schema):
    """The fields a clerk may correct; every change is screened again."""

    name = Text(300, required=False)
    aliases = fields.List(Text(300), validate=validate.Length(max=50))
    original_script_name = Text(300, required=False, allow_none=True)
    identifiers = fields.List(fields.Nested(IdentifierSchema), validate=validate.Length(max=20))
    birth_date = fields.Date(allow_none=True)
    country = Country()
    bank_account = Text(64, required=False, allow_none=True)

    @ma.validates_schema
    def _something(self, data: dict[str, object], **kw: object) -> None:
        if not data:
            raise ma.ValidationError("Name at least one field to change.")


class PayeeSchema(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    country = fields.String()
    aliases = fields.List(fields.String())
    original_script_name = fields.String(allow_none=True)
    identifiers = fields.List(fields.Nested(IdentifierSchema))
    birth_date = fields.Date(allow_none=True)
    bank_account = fields.Function(
        lambda p: mask_account(p.bank_account),
        metadata={"description": "Masked: only the last four characters"},
    )
    related_parties = fields.List(fields.Nested(RelatedPartySchema))
    payable = fields.Boolean(metadata={"description": "Nothing blocks paying this payee now"})
    blocks = fields.List(
        fields.Dict(), metadata={"description": "What blocks payment now: restrictions, ..."}
    )
    created_at = fields.DateTime()


class PayeeListArgs(PageArgs):
    kind = fields.String(validate=validate.OneOf(PAYEE_KINDS))
    country = fields.String()
    name = fields.String(metadata={"description": "Part of the legal name"})
