"""Restrictions set and lifted, and the record of refused attempts (each told to
the treasurers and compliance: ``notifications``).

Whether a payee may be paid now is ``compliance.payability``'s to answer."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from sqlalchemy.orm import Session

from ledger.audit.services import jsonable, record, snapshot
from ledger.auth.models import Actor
from ledger.compliance.models import Refusal, Restriction
from ledger.db import get_or_404, lock_row, utcnow
from ledger.errors import AlreadyLifted, LedgerError, SeparationOfDuties
from ledger.notifications.services import EventSubject, notify, users_with_roles
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
    # Every refused attempt to move money (a payment, an approval, a submission)
    # is told to the treasurers and to compliance.
    notify(
        session,
        "payment.refused",
        EventSubject(
            "refusals",
            refusal.id,
            f"Refused ({refusal.code}): {refusal.action}",
            {
                "refusal_id": refusal.id,
                "code": refusal.code,
                "detail": refusal.detail[:500],
                "action": refusal.action,
                "payee_id": refusal.payee_id,
                "spending_request_id": refusal.spending_request_id,
            },
        ),
        users_with_roles(session, "treasurer", "compliance"),
        actor=actor,
    )
    return refusal
