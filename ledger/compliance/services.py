"""Restrictions, the payment check, and the record of refused attempts.

``assert_payable`` is the one gate every payment path goes through, at the moment
of payment, not only at approval (SPEC §3.5)."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.audit.services import jsonable, record, snapshot
from ledger.auth.models import Actor
from ledger.compliance.models import Refusal, Restriction
from ledger.db import get_or_404, lock_row, utcnow
from ledger.errors import AlreadyLifted, LedgerError, PayeeRestricted, SeparationOfDuties
from ledger.payees.models import Payee


def restrict_payee(
    session: Session,
    actor: Actor,
    *,
    payee_id: int,
    reason: str,
    source: str = "manual",
    evidence: dict[str, Any] | None = None,
) -> Restriction:
    """Block every payment to the payee, and to payees it stands behind, from now on."""
    payee = get_or_404(session, Payee, payee_id)
    restriction = Restriction(
        payee_id=payee.id, reason=reason, source=source, evidence=evidence, set_by=actor.id
    )
    session.add(restriction)
    record(session, actor, "restriction.set", restriction)
    return restriction


def lift_restriction(
    session: Session, actor: Actor, *, restriction_id: int, reason: str
) -> Restriction:
    """Lift a restriction: a second compliance officer, with a reason (four eyes)."""
    restriction = lock_row(session, Restriction, restriction_id)
    if restriction.lifted_at is not None:
        raise AlreadyLifted(f"Restriction {restriction.id} was lifted already.")
    if restriction.set_by == actor.id:
        raise SeparationOfDuties(
            "Whoever set a restriction cannot lift it: a second compliance officer must.",
            payee_id=restriction.payee_id,
        )
    before = snapshot(restriction)
    restriction.lifted_by = actor.id
    restriction.lifted_at = utcnow()
    restriction.lift_reason = reason
    record(session, actor, "restriction.lifted", restriction, before=before)
    return restriction


def active_restrictions(session: Session, payee_ids: list[int]) -> list[Restriction]:
    if not payee_ids:
        return []
    return list(
        session.scalars(
            select(Restriction)
            .where(Restriction.payee_id.in_(payee_ids), Restriction.lifted_at.is_(None))
            .order_by(Restriction.id)
        )
    )


def payment_blocks(session: Session, payee: Payee) -> list[dict[str, Any]]:
    """Everything that stops a payment to ``payee`` now: its own restrictions,
    restrictions on payees that stand behind it as related parties, and open
    review cases (fail closed: a possible match blocks until it is resolved)."""
    from ledger.screening.services import open_case_blocks

    # The payee's parties are loaded with it (selectin): no query of their own.
    linked = {p.linked_payee_id: p for p in payee.related_parties if p.linked_payee_id}
    blocks: list[dict[str, Any]] = []
    for r in active_restrictions(session, [payee.id, *linked]):
        block = {
            "reason": "restricted" if r.payee_id == payee.id else "related_party_restricted",
            "restriction_id": r.id,
            "restricted_payee_id": r.payee_id,
            "restriction_reason": r.reason,
            "source": r.source,
            "set_at": jsonable(r.set_at),
        }
        if r.payee_id != payee.id:
            party = linked[r.payee_id]
            block["related_party"] = {"id": party.id, "name": party.name, "role": party.role}
        blocks.append(block)
    return blocks + open_case_blocks(session, payee.id)


def assert_payable(
    session: Session,
    payee: Payee,
    *,
    action: str,
    actor_id: int | None = None,
    spending_request_id: int | None = None,
) -> dict[str, Any]:
    """Refuse with ``payee_restricted`` if anything blocks paying ``payee``: a
    restriction (its own or a related party's), an open review case, or a hit the
    screening finds now against the current lists (its case is opened even though
    the act is refused).

    Returns the screening state that let the act through, for the record."""
    from ledger.screening.names import MATCHER_VERSION
    from ledger.screening.services import screening_gate

    new_hits, persist, entries = screening_gate(session, payee, actor_id)
    blocks = payment_blocks(session, payee) + new_hits
    if blocks:
        raise PayeeRestricted(
            f"Payee {payee.id} ({payee.name}) cannot be paid or approved for payment: "
            f"{'; '.join(describe(b) for b in blocks)}.",
            evidence={"action": action, "blocks": blocks},
            deferred=[persist] if persist else None,
            payee_id=payee.id,
            spending_request_id=spending_request_id,
        )
    return {
        "checked_at": jsonable(utcnow()),
        "state": "clear",
        "matcher_version": MATCHER_VERSION,
        "list_entries": entries,
    }


def describe(block: dict[str, Any]) -> str:
    reason = block["reason"]
    if reason == "restricted":
        return f"restriction {block['restriction_id']}"
    if reason == "related_party_restricted":
        return (
            f"restriction {block['restriction_id']} on related party "
            f"{block['related_party']['name']}"
        )
    if reason == "open_review_case":
        return f"open review case {block['review_case_id']} ({block['entry_name']})"
    return (
        f"possible match with {block['list']} entry {block['source_key']} ({block['entry_name']})"
    )


def record_refusal(session: Session, actor: Actor | None, error: LedgerError) -> Refusal:
    """Keep a refused attempt with its evidence (called after the attempt rolled back)."""
    action = f"{request.method} {request.path}" if has_request_context() else "cli"
    refusal = Refusal(
        actor_id=actor.id if actor else None,
        action=action,
        code=error.code,
        detail=error.detail[:2000],
        payee_id=error.extra.get("payee_id"),
        spending_request_id=error.extra.get("spending_request_id"),
        evidence=jsonable(error.evidence),
        request_id=session.info.get("request_id"),
    )
    session.add(refusal)
    record(session, actor, "attempt.refused", refusal)
    return refusal
