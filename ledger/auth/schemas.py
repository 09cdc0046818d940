import marshmallow as ma
from marshmallow import fields, validate

from ledger.api import Text
from ledger.auth.models import ROLES


def EmailAddress() -> fields.Email:
    """An email address for notifications; optional, ``null`` for none."""
    return fields.Email(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=320),
        metadata={"description": "Where notifications are emailed; null for none"},
    )


class UserSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String()
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)))
    institution = fields.String(allow_none=True)
    email = fields.String(
        allow_none=True, metadata={"description": "Where notifications are emailed"}
    )
    is_chair = fields.Boolean()
    active = fields.Boolean()
    created_at = fields.DateTime(dump_only=True)


class UserCreateSchema(ma.Schema):
    name = Text(200)
    roles = fields.List(
        fields.String(validate=validate.OneOf(ROLES)),
        required=True,
        validate=validate.Length(min=1),
    )
    institution = Text(100, required=False, load_default=None)
    email = EmailAddress()
    is_chair = fields.Boolean(load_default=False)

    @ma.validates_schema
    def _member_has_institution(self, data: dict[str, object], **kw: object) -> None:
        roles = data.get("roles") or []
        if "committee_member" in roles and not data.get("institution"):  # type: ignore[operator]
            raise ma.ValidationError(
                "Committee members belong to an institution.", field_name="institution"
            )


class NewTokenSchema(ma.Schema):
    user = fields.Nested(UserSchema)
    token = fields.String(metadata={"description": "Shown this once; store it safely"})
    token_id = fields.Integer()


class TokenSchema(ma.Schema):
    id = fields.Integer()
    user_id = fields.Integer()
    prefix = fields.String()
    created_at = fields.DateTime()
    expires_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
