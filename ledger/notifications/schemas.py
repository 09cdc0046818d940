import marshmallow as ma
from marshmallow import fields, validate

from ledger.api import Id, PageArgs, Text
from ledger.notifications.models import CHANNELS, NOTIFICATION_STATES
from ledger.notifications.services import EVENT_KINDS

KIND = validate.OneOf(list(EVENT_KINDS))
CHANNEL = validate.OneOf(CHANNELS)


class NotificationSchema(ma.Schema):
    id = fields.Integer()
    event_id = fields.String(metadata={"description": "The event's id (a webhook's `id`)"})
    kind = fields.String(metadata={"example": "vote.awaited"})
    channel = fields.String(metadata={"description": "email or webhook"})
    webhook_id = fields.Integer(allow_none=True)
    address = fields.String(allow_none=True, metadata={"description": "The email address"})
    subject_type = fields.String(metadata={"example": "spending_requests"})
    subject_id = fields.Integer()
    title = fields.String()
    facts = fields.Dict()
    link = fields.String()
    status = fields.String(
        metadata={"description": "pending, delivered, failed (given up) or cancelled"}
    )
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    delivered_at = fields.DateTime(allow_none=True)


class NotificationListArgs(PageArgs):
    kind = fields.String(validate=KIND)
    status = fields.String(validate=validate.OneOf(NOTIFICATION_STATES))


class DeliverySchema(ma.Schema):
    id = fields.Integer()
    notification_id = fields.Integer()
    attempt = fields.Integer(metadata={"description": "1 for the first attempt, 2 …"})
    channel = fields.String()
    target = fields.String(metadata={"description": "The URL posted to, or the address"})
    delivered = fields.Boolean()
    status_code = fields.Integer(
        allow_none=True, metadata={"description": "The HTTP status answered (SMTP: 250)"}
    )
    error = fields.String(allow_none=True)
    duration_ms = fields.Integer()
    attempted_at = fields.DateTime()
    created_at = fields.DateTime(attribute="attempted_at", dump_only=True)


class DeliveryListArgs(PageArgs):
    notification_id = Id()
    delivered = fields.Boolean()


class PreferenceSchema(ma.Schema):
    kind = fields.String(required=True, validate=KIND)
    channel = fields.String(required=True, validate=CHANNEL)
    enabled = fields.Boolean(required=True)
    default = fields.Boolean(
        dump_only=True, metadata={"description": "Whether this is the default (no choice made)"}
    )


class PreferencesSchema(ma.Schema):
    email = fields.String(allow_none=True)
    preferences = fields.List(fields.Nested(PreferenceSchema))


class PreferencesUpdateSchema(ma.Schema):
    # Left out: unchanged; null: removed (no email is sent then).
    email = fields.Email(
        allow_none=True,
        validate=validate.Length(max=320),
        metadata={
            "description": "Where notifications are emailed; null for none; left out, unchanged"
        },
    )
    preferences = fields.List(
        fields.Nested(PreferenceSchema),
        load_default=list,
        validate=validate.Length(max=len(EVENT_KINDS) * len(CHANNELS)),
        metadata={"description": "The choices to change; the others stay as they are"},
    )


class WebhookSchema(ma.Schema):
    id = fields.Integer()
    url = fields.String()
    description = fields.String(allow_none=True)
    active = fields.Boolean()
    created_at = fields.DateTime()
    disabled_at = fields.DateTime(allow_none=True)


class WebhookCreateSchema(ma.Schema):
    url = fields.Url(
        required=True,
        schemes={"http", "https"},
        require_tld=False,
        validate=validate.Length(max=2000),
    )
    description = Text(200, required=False, load_default=None)


class NewWebhookSchema(ma.Schema):
    webhook = fields.Nested(WebhookSchema)
    secret = fields.String(
        metadata={
            "description": "Signs every delivery (docs/operations.md, Notifications). "
            "Shown this once; store it safely"
        }
    )
