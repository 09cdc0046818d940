"""Registering payees and the parties behind them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from ledger.audit.services import record, snapshot
from ledger.auth.models import User
from ledger.errors import ValidationFailed
from ledger.payees.models import Payee, RelatedParty


def create_payee(
    session: Session,
    actor: User,
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
        linked = party.get("linked_payee_id")
        if linked is not None and (linked == payee.id or session.get(Payee, linked) is None):
            raise ValidationFailed(
                f"related_parties.{i}.linked_payee_id", f"No other payee with id {linked}."
            )
        session.add(RelatedParty(payee_id=payee.id, **party))
    session.flush()
    session.refresh(payee, ["related_parties"])
    after = snapshot(payee)
    after["related_parties"] = [snapshot(p) for p in payee.related_parties]
    after["bank_account"] = mask_account(payee.bank_account)
    record(session, actor, "payee.created", payee, after=after)
    return payee


def mask_account(account: str | None) -> str | None:
    """Only the last four characters of an account number are ever shown or logged."""
    if not account:
        return account
    return "•" * max(len(account) - 4, 0) + account[-4:]
