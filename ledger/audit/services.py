"""Recording audit events and verifying their hash chain.

Services call ``record`` as they change things; the events wait in the session
and are written by ``_write_pending`` just before the transaction commits: only
then is the chain head locked, so the lock is held for a few inserts, not for the
whole request. A transaction that rolls back leaves no event behind.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from ledger.audit.models import GENESIS_HASH, AuditChainHead, AuditEvent
from ledger.auth.models import Actor
from ledger.db import Base, DriverStatement, at_commit, utcnow

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
    """The row's column values, as the audit trail keeps them."""
    mapper = sa.inspect(obj).mapper
    return {attr.key: jsonable(getattr(obj, attr.key)) for attr in mapper.column_attrs}


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
    """An event as ``record`` queues it, for a session's pending list (or a
    transaction that writes its own: the payment's fast lane)."""
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


def canonical(value: Any) -> str:
    """The canonical JSON text the chain hashes: keys sorted, no spaces, unescaped
    Unicode. PostgreSQL writes the same text for the payment's events
    (``ledger_canonical_json``, migration ``8e6f1a2b3c47``)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _canonical_parts(fields: dict[str, Any]) -> tuple[str, str]:
    """The canonical JSON of an event (as ``event_hash`` hashes it) without its
    ``prev_hash`` and ``seq``: ``head + prev_hash + middle + str(seq) + "}"``.
    Computed before the chain head is locked, so that only the link is left to do
    under the lock. Keys sort as: action … occurred_at, prev_hash, request_id, seq."""

    content = {
        "action": fields["action"],
        "actor_id": fields["actor_id"],
        "actor_name": fields["actor_name"],
        "after": fields["after"],
        "before": fields["before"],
        "entity_id": fields["entity_id"],
        "entity_type": fields["entity_type"],
        "occurred_at": fields["occurred_at"].astimezone(dt.UTC).isoformat(),
    }
    # The keys above are in sorted order and all sort before "prev_hash": the
    # canonical JSON of ``content`` without its closing brace is the head.
    head = canonical(content)[:-1]
    return f'{head},"prev_hash":"', f'","request_id":{canonical(fields["request_id"])},"seq":'


# PostgreSQL: the whole chain step is one statement, sent right before the COMMIT
# (``ledger.db.at_commit``). It locks the head, links the events (sha256
# of head + prev_hash + middle + seq + "}", exactly ``event_hash``), inserts them
# and moves the head; the lock is then held only for this statement and the COMMIT
# right behind it. Under READ COMMITTED, FOR UPDATE returns the head as the
# transaction that held it last left it, and the UPDATE follows it. Its result is
# not read before COMMIT, so it checks itself: unless every event was written and
# the head moved, ledger_check() raises and the transaction rolls back whole.
# ``before`` and ``after`` are stored as the event's canonical text has them, the
# very bytes hashed (a json value keeps its text; one parse takes both; None is
# stored as JSON null, as SQLAlchemy's JSON type stores it): they do not travel twice.
_CHAIN_PG = sa.text(
    """
    WITH RECURSIVE head AS (
        SELECT seq, hash FROM audit_chain_head WHERE id = 1 FOR UPDATE
    ), ev AS (
        SELECT * FROM json_to_recordset(CAST(:events AS json)) AS e(
            i int, head text, middle text, occurred_at timestamptz, actor_id bigint,
            actor_name text, action text, entity_type text, entity_id text,
            request_id text)
    ), chain(i, seq, prev_hash, hash, canonical) AS (
        SELECT 0, head.seq, NULL::text, head.hash::text, NULL::text FROM head
        UNION ALL
        SELECT ev.i, chain.seq + 1, chain.hash,
               encode(sha256(convert_to(link.canonical, 'UTF8')), 'hex'), link.canonical
        FROM chain JOIN ev ON ev.i = chain.i + 1,
             LATERAL (SELECT ev.head || chain.hash || ev.middle || (chain.seq + 1)::text || '}')
                 AS link(canonical)
    ), written AS (
        INSERT INTO audit_events (seq, occurred_at, actor_id, actor_name, action, entity_type,
                                  entity_id, request_id, before, after, prev_hash, hash)
        SELECT chain.seq, ev.occurred_at, ev.actor_id, ev.actor_name, ev.action,
               ev.entity_type, ev.entity_id, ev.request_id,
               coalesce(states.before, 'null'), coalesce(states.after, 'null'),
               chain.prev_hash, chain.hash
        FROM chain JOIN ev ON ev.i = chain.i,
             LATERAL json_to_record(CAST(chain.canonical AS json))
                 AS states(before json, after json)
        RETURNING seq
    ), moved AS (
        UPDATE audit_chain_head SET seq = last.seq, hash = last.hash
        FROM (SELECT seq, hash FROM chain ORDER BY i DESC LIMIT 1) AS last
        WHERE audit_chain_head.id = 1
        RETURNING audit_chain_head.seq
    )
    SELECT ledger_check(
        (SELECT seq FROM moved) IS NOT NULL AND (SELECT count(*) FROM written) = :count,
        'audit chain: not every event was written; nothing is committed')
    """
)


CHAIN_STEP = DriverStatement(_CHAIN_PG)
# What an event's row takes from its fields besides the canonical text.
_COLUMNS_BESIDE = ("actor_id", "actor_name", "action", "entity_type", "entity_id", "request_id")


def _write_pending_pg(session: Session, pending: list[dict[str, Any]]) -> None:
    at_commit(session, CHAIN_STEP, chain_step_params(pending))


def chain_step_params(pending: list[dict[str, Any]]) -> dict[str, Any]:
    """``CHAIN_STEP``'s parameters for ``pending`` events (as ``record`` queues them)."""
    rows = []
    for i, fields in enumerate(pending, start=1):
        head, middle = _canonical_parts(fields)  # before and after: inside the head
        row = {key: fields[key] for key in _COLUMNS_BESIDE}
        row.update(i=i, head=head, middle=middle)
        row["occurred_at"] = fields["occurred_at"].astimezone(dt.UTC).isoformat()
        rows.append(row)
    return {"events": json.dumps(rows), "count": len(rows)}


def _write_pending(session: Session) -> None:
    pending: list[dict[str, Any]] = session.info.pop(PENDING, [])
    if not pending:
        return
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        _write_pending_pg(session, pending)
        return
    head = session.execute(
        select(AuditChainHead)
        .where(AuditChainHead.id == 1)
        .with_for_update(of=AuditChainHead)
        .execution_options(populate_existing=True)
    ).scalar_one()
    seq, prev = head.seq, head.hash
    for fields in pending:
        seq += 1
        digest = event_hash(prev, seq, fields)
        session.add(AuditEvent(seq=seq, prev_hash=prev, hash=digest, **fields))
        prev = digest
    head.seq, head.hash = seq, prev
    session.flush()


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
