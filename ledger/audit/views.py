"""The audit trail and its chain check."""

from dataclasses import asdict
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from marshmallow import fields
from sqlalchemy import select

from ledger.api import Blueprint, Id, PageArgs, page_of, paginate
from ledger.audit.checkpoints import as_published
from ledger.audit.models import AuditCheckpoint, AuditEvent
from ledger.audit.services import verify_chain
from ledger.auth.access import requires
from ledger.db import db, get_or_404

blp = Blueprint("audit", __name__, description="The audit trail, chained by hash")


class AuditEventSchema(ma.Schema):
    id = fields.Integer()
    seq = fields.Integer()
    occurred_at = fields.DateTime()
    actor_id = fields.Integer(allow_none=True)
    actor_name = fields.String(allow_none=True)
    action = fields.String()
    entity_type = fields.String()
    entity_id = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True)
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)
    prev_hash = fields.String()
    hash = fields.String()
    created_at = fields.DateTime()


class AuditListArgs(PageArgs):
    actor_id = Id()
    action = fields.String()
    entity_type = fields.String()
    entity_id = fields.String()
    request_id = fields.String()
    occurred_from = fields.DateTime()
    occurred_to = fields.DateTime()


class ChainReportSchema(ma.Schema):
    valid = fields.Boolean()
    events_checked = fields.Integer()
    head_seq = fields.Integer()
    head_hash = fields.String()
    first_broken_seq = fields.Integer(allow_none=True)
    first_broken_id = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)


@blp.route("/audit-events")
class AuditEvents(MethodView):
    @requires("compliance", read=True)
    @blp.arguments(AuditListArgs, location="query")
    @blp.response(200, page_of(AuditEventSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Audit events in chain order, by actor, action, entity, request or time."""
        stmt = select(AuditEvent)
        for key in ("actor_id", "action", "entity_type", "entity_id", "request_id"):
            if key in args:
                stmt = stmt.where(getattr(AuditEvent, key) == args[key])
        if "occurred_from" in args:
            stmt = stmt.where(AuditEvent.occurred_at >= args["occurred_from"])
        if "occurred_to" in args:
            stmt = stmt.where(AuditEvent.occurred_at <= args["occurred_to"])
        return paginate(db.session, stmt, AuditEvent.id, args)


@blp.route("/audit-events/verify")
class VerifyChain(MethodView):
    @requires("compliance", read=True)
    @blp.response(200, ChainReportSchema)
    def get(self) -> dict[str, Any]:
        """Recompute the hash chain; name the first event that does not fit."""
        return asdict(verify_chain(db.session))


class CheckpointSchema(ma.Schema):
    id = fields.Integer()
    seq = fields.Integer(metadata={"description": "The chain head's sequence when signed"})
    hash = fields.String(metadata={"description": "The chain head's hash when signed"})
    signed_at = fields.String(metadata={"description": "ISO 8601, UTC: part of the message"})
    reason = fields.String()
    public_key = fields.String(metadata={"description": "Ed25519 public key, raw, base64"})
    signature = fields.String(
        metadata={
            "description": "Ed25519 signature (base64) of the canonical JSON "
            '{"hash": …, "seq": …, "signed_at": …} (sorted keys, no spaces)'
        }
    )


class CheckpointListArgs(PageArgs):
    pass


@blp.route("/audit-events/checkpoints")
class Checkpoints(MethodView):
    @requires("compliance", read=True)
    @blp.arguments(CheckpointListArgs, location="query")
    @blp.response(200, page_of(CheckpointSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Signed checkpoints of the chain, oldest first: keep copies elsewhere, and
        check the chain against them (`flask --app wsgi audit verify --against FILE`)."""
        page = paginate(db.session, select(AuditCheckpoint), AuditCheckpoint.id, args)
        page["items"] = [as_published(c) for c in page["items"]]
        return page


@blp.route("/audit-events/<int:event_id>")
class AuditEventById(MethodView):
    @requires("compliance", read=True)
    @blp.response(200, AuditEventSchema)
    def get(self, event_id: int) -> AuditEvent:
        """One audit event."""
        return get_or_404(db.session, AuditEvent, event_id)
