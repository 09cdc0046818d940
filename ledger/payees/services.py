"""Registering payees and the parties behind them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from ledger.audit.services import record, snapshot
from ledger.auth.models import Actor
from ledger.db import get_or_404
from ledger.errors import ValidationFailed
from ledger.payees.models import Payee, RelatedParty
from ledger.screening.services import screen_payee


def create_payee(
    session: Session,
    actor: Actor,
    *,
    name: str,
    kind: str,
    country: str,
    aliases: list[str] | None = None,
    original_script_name: str | None = None,
    identifiers: list[dict[str, str]] | None = None,
    birth_date: dt.date | None = None,
    bank_account: str | None = None,
    related_parties: list[dict[str, Any]] | None = None,
) -> Payee:
    """Register a payee with its related parties, in one audited step."""
    payee = Payee(
        name=name,
        kind=kind,
        country=country,
        aliases=list(aliases or []),
        original_script_name=original_script_name,
        identifiers=list(identifiers or []),
        birth_date=birth_date,
        bank_account=bank_account,
        created_by=actor.id,
    )
    session.add(payee)
    session.flush()
    for i, party in enumerate(related_parties or []):
        _add_party(session, payee, party, f"related_parties.{i}.linked_payee_id")
    session.flush()
    session.refresh(payee, ["related_parties"])
    record(session, actor, "payee.created", payee, after=payee_snapshot(payee))
    screen_payee(session, payee, actor, "payee.created")
    return payee


def _add_party(session: Session, payee: Payee, party: dict[str, Any], field: str) -> RelatedParty:
    linked = party.get("linked_payee_id")
    if linked is not None and (linked == payee.id or session.get(Payee, linked) is None):
        raise ValidationFailed(field, f"No other payee with id {linked}.")
    row = RelatedParty(payee_id=payee.id, **party)
    session.add(row)
    session.flush()
    return row


def payee_snapshot(payee: Payee) -> dict[str, Any]:
    """The payee as the audit trail keeps it: with its parties, account masked."""
    after = snapshot(payee)
    after["related_parties"] = [snapshot(p) for p in payee.related_parties]
    after["bank_account"] = mask_account(payee.bank_account)
    return after


def update_payee(session: Session, actor: Actor, payee_id: int, changes: dict[str, Any]) -> Payee:
    """Change a payee's names, identifiers or details; it is screened again."""
    payee = get_or_404(session, Payee, payee_id)
    before = payee_snapshot(payee)
    for key, value in changes.items():
        setattr(payee, key, list(value) if isinstance(value, list) else value)
    session.flush()
    record(session, actor, "payee.changed", payee, before=before, after=payee_snapshot(payee))
    screen_payee(session, payee, actor, "payee.changed")
    return payee


def add_related_party(
    session: Session, actor: Actor, payee_id: int, party: dict[str, Any]
) -> Payee:
    """Add an owner, director or signatory; the payee is screened again."""
    payee = get_or_404(session, Payee, payee_id)
    before = payee_snapshot(payee)
    _add_party(session, payee, party, "linked_payee_id")
    session.refresh(payee, ["related_parties"])
    record(session, actor, "payee.changed", payee, before=before, after=payee_snapshot(payee))
    screen_payee(session, payee, actor, "related_party.added")
    return payee


def mask_account(account: str | None) -> str | None:
    """Only the last four characters of an account number are ever shown or logged."""
    if not account:
        return account
    return "•" * max(len(account) - 4, 0) + account[-4:]
