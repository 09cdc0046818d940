"""Recording audit events and verifying their hash chain.

Services call ``record`` as they change things; the events wait in the session
and are written by ``_write_pending`` just before the transaction commits: only
then is the chain head locked, so the lock is held for a few inserts, not for the
whole request. A transaction that rolls back leaves no event behind.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from ledger.audit.models import GENESIS_HASH, AuditChainHead, AuditEvent
from ledger.auth.models import Actor
from ledger.db import Base, canonical_json, utcnow

PENDING = "audit_pending"


_NATIVE = frozenset({str, int, bool, float})


def jsonable(value: Any) -> Any:
    """A JSON-native copy of ``value``: dates as ISO text, decimals as strings."""
    if value is None or type(value) in _NATIVE:
        return value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return {
            str(k): v if v is None or type(v) in _NATIVE else jsonable(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def snapshot(obj: Base) -> dict[str, Any]:
    """The row's column values, as the audit trail keeps them; never a secret, nor
    a secret's hash (the columns a model names in ``__audit_omit__``)."""
    mapper = sa.inspect(obj).mapper
    omit: frozenset[str] = getattr(type(obj), "__audit_omit__", frozenset())
    return {
        attr.key: jsonable(getattr(obj, attr.key))
        for attr in mapper.column_attrs
        if attr.key not in omit
    }


def record(
    session: Session,
    actor: Actor | None,
    action: str,
    entity: Base | tuple[str, int | str | None],
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Queue an audit event; it is written, chained, with the transaction's commit.

    ``entity`` is a model instance (its table and id are taken, and ``after``
    defaults to its snapshot) or a ``(type, id)`` pair."""
    if isinstance(entity, Base):
        if sa.inspect(entity).pending:
            session.flush()
        entity_type = entity.__tablename__
        entity_id = getattr(entity, "id", None)
        if after is None:
            after = snapshot(entity)
    else:
        entity_type, entity_id = entity
    session.info.setdefault(PENDING, []).append(
        pending_event(
            actor,
            action,
            entity_type,
            entity_id,
            session.info.get("request_id"),
            before=before,
            after=after,
        )
    )


def pending_event(
    actor: Actor | None,
    action: str,
    entity_type: str,
    entity_id: int | str | None,
    request_id: str | None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An event as ``record`` queues it, for a session's pending list."""
    return {
        "occurred_at": utcnow(),
        "actor_id": actor.id if actor is not None else None,
        "actor_name": actor.name if actor is not None else None,
        "action": action,
        "entity_type": entity_type,
        "entity_id": None if entity_id is None else str(entity_id),
        "request_id": request_id,
        "before": jsonable(before) if before is not None else None,
        "after": jsonable(after) if after is not None else None,
    }


def event_hash(prev_hash: str, seq: int, fields: dict[str, Any]) -> str:
    """sha256 over the previous hash and a canonical JSON of the event's content."""
    content = {
        "seq": seq,
        "prev_hash": prev_hash,
        "occurred_at": fields["occurred_at"].astimezone(dt.UTC).isoformat(),
        "actor_id": fields["actor_id"],
        "actor_name": fields["actor_name"],
        "action": fields["action"],
        "entity_type": fields["entity_type"],
        "entity_id": fields["entity_id"],
        "request_id": fields["request_id"],
        "before": fields["before"],
        "after": fields["after"],
    }
    return hashlib.sha256(canonical(content).encode()).hexdigest()


canonical = canonical_json  # the text the chain hashes (ledger.db.canonical_json)


def link(prev_hash: str, last_seq: int, pending: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of ``pending`` events chained after the event ``last_seq`` whose
    hash is ``prev_hash``: each gets the next ``seq``, the previous hash and its
    own (``event_hash``). The one place where events are linked."""
    rows = []
    for fields in pending:
        last_seq += 1
        digest = event_hash(prev_hash, last_seq, fields)
        rows.append({**fields, "seq": last_seq, "prev_hash": prev_hash, "hash": digest})
        prev_hash = digest
    return rows


# Into the table, not the mapped class (the ORM's bulk insert costs more than the
# statement).
_INSERT_EVENT = sa.insert(AuditEvent.__table__)  # type: ignore[arg-type]
_LOCK_HEAD = (
    select(AuditChainHead.seq, AuditChainHead.hash).where(AuditChainHead.id == 1).with_for_update()
)


_MOVE_HEAD = (
    sa.update(AuditChainHead.__table__)  # type: ignore[arg-type]
    .where(AuditChainHead.__table__.c.id == 1)
    .values(seq=sa.bindparam("new_seq"), hash=sa.bindparam("new_hash"))
)


def _write_pending(session: Session) -> None:
    """Before the commit: lock the chain head, link the transaction's events after
    it, insert them and move the head. The head's row lock is taken here, at the
    very end of the transaction, and held until its COMMIT: chained writers
    serialise only for these three statements and the commit."""
    pending: list[dict[str, Any]] = session.info.pop(PENDING, [])
    if not pending:
        return
    session.flush()
    seq, prev = session.execute(_LOCK_HEAD).one()
    rows = link(prev, seq, pending)
    session.execute(_INSERT_EVENT, rows)
    session.execute(_MOVE_HEAD, {"new_seq": rows[-1]["seq"], "new_hash": rows[-1]["hash"]})


def install(factory: sessionmaker[Session]) -> None:
    """Have every session from ``factory`` write its pending events at commit."""
    event.listen(factory, "before_commit", _write_pending)

    @event.listens_for(factory, "after_soft_rollback")
    def _drop_pending(session: Session, previous_transaction: Any) -> None:
        if previous_transaction.parent is None:  # the outermost transaction
            session.info.pop(PENDING, None)


@dataclass(frozen=True)
class ChainReport:
    valid: bool
    events_checked: int
    head_seq: int
    head_hash: str
    first_broken_seq: int | None = None
    first_broken_id: int | None = None
    reason: str | None = None


def verify_chain(session: Session) -> ChainReport:
    """Recompute every event's hash in order; name the first event that does not fit."""
    head = session.execute(
        select(AuditChainHead).execution_options(populate_existing=True)
    ).scalar_one()
    prev, expected_seq, checked = GENESIS_HASH, 1, 0

    def broken(ev: AuditEvent, reason: str) -> ChainReport:
        return ChainReport(False, checked, head.seq, head.hash, ev.seq, ev.id, reason)

    stmt = select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=2000)
    # Streamed (a server-side cursor on PostgreSQL); closed even when we stop early.
    with session.scalars(stmt) as events:
        for ev in events:
            if ev.seq != expected_seq:
                return broken(ev, f"sequence gap: expected {expected_seq}, found {ev.seq}")
            if ev.prev_hash != prev:
                return broken(ev, "prev_hash does not match the previous event's hash")
            fields = {
                "occurred_at": ev.occurred_at,
                "actor_id": ev.actor_id,
                "actor_name": ev.actor_name,
                "action": ev.action,
                "entity_type": ev.entity_type,
                "entity_id": ev.entity_id,
                "request_id": ev.request_id,
                "before": ev.before,
                "after": ev.after,
            }
            if event_hash(prev, ev.seq, fields) != ev.hash:
                return broken(ev, "content does not match its hash (edited after it was written)")
            prev, expected_seq, checked = ev.hash, expected_seq + 1, checked + 1
            session.expunge(ev)
    if head.seq != checked or head.hash != prev:
        return ChainReport(
            False,
            checked,
            head.seq,
            head.hash,
            checked + 1,
            None,
            "events missing after the last one found (the chain head is further on)",
        )
    return ChainReport(True, checked, head.seq, head.hash)
