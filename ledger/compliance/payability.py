"""May this payee be paid now, and if not, why not.

The one answer that payments, batch postings, approving votes and the payee's own
page all ask for (SPEC §3.5): a payee is not paid while it has an active
restriction, while a party behind it (owner, director, signatory) is a restricted
payee, while a review case on it is open, or when screening it against the current
lists finds a hit that no case covers yet. Checked at the moment of the act, not
only at approval.

``blocks_for`` answers for many payees in one statement (a batch asks for a
thousand at a time, a payment for one); ``assert_payable`` adds the screening and
refuses with the evidence.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from ledger.audit.services import jsonable
from ledger.bulk import chunks
from ledger.compliance.models import Restriction
from ledger.db import utcnow
from ledger.errors import PayeeRestricted
from ledger.payees.models import Payee, RelatedParty
from ledger.screening.models import ReviewCase
from ledger.screening.names import MATCHER_VERSION
from ledger.screening.services import ASK, screening_gate


@functools.cache
def _blocks_statement(dialect: str) -> sa.Select[Any]:
    """Every block on the payees ``:payee_ids`` as rows of one shape, in one
    statement: the payee's own active restrictions, active restrictions on payees
    that stand behind it as related parties, and its open review cases. Built once
    per dialect (a payment asks for it; building it costs more than running it)."""
    r, party, case = Restriction, RelatedParty, ReviewCase

    def among(column: Any) -> sa.ColumnElement[bool]:
        """``column`` among ``:payee_ids``: one array parameter on PostgreSQL."""
        found: sa.ColumnElement[bool]
        if dialect == "postgresql":
            ids = sa.bindparam("payee_ids", type_=postgresql.ARRAY(sa.BigInteger))
            found = column == sa.any_(ids)
        else:
            found = column.in_(sa.bindparam("payee_ids", expanding=True))
        return found

    no_json = sa.cast(sa.null(), case.evidence.type)
    no_text = sa.cast(sa.null(), sa.String)
    no_id = sa.cast(sa.null(), sa.BigInteger)
    own = sa.select(
        r.payee_id.label("payee_id"),
        sa.literal(0).label("kind"),
        r.id.label("id"),
        r.payee_id.label("restricted_payee_id"),
        r.reason.label("reason"),
        r.source.label("source"),
        r.set_at.label("set_at"),
        no_id.label("party_id"),
        no_text.label("party_name"),
        no_text.label("party_role"),
        no_json.label("evidence"),
        no_text.label("score"),
        no_text.label("matcher_version"),
    ).where(among(r.payee_id), r.lifted_at.is_(None))
    behind = (
        sa.select(
            party.payee_id,
            sa.literal(1),
            r.id,
            r.payee_id,
            r.reason,
            r.source,
            r.set_at,
            party.id,
            party.name,
            party.role,
            no_json,
            no_text,
            no_text,
        )
        .join(r, r.payee_id == party.linked_payee_id)
        .where(among(party.payee_id), r.lifted_at.is_(None))
    )
    cases = sa.select(
        case.payee_id,
        sa.literal(2),
        case.id,
        no_id,
        no_text,
        no_text,
        sa.cast(sa.null(), r.set_at.type),
        no_id,
        no_text,
        no_text,
        case.evidence,
        case.score,
        case.matcher_version,
    ).where(
        among(case.payee_id),
        case.status == "open",
        case.kind == "match",
    )
    union = sa.union_all(own, behind, cases).subquery()
    return sa.select(union).order_by(union.c.payee_id, union.c.kind, union.c.id)


def _block(row: Any) -> dict[str, Any]:
    if row.kind == 2:
        evidence = row.evidence or {}
        return {
            "reason": "open_review_case",
            "review_case_id": row.id,
            "list": evidence.get("list"),
            "source_key": evidence.get("source_key"),
            "entry_name": evidence.get("entry_name"),
            "query_name": evidence.get("query_name"),
            "score": row.score,
            "matcher_version": row.matcher_version,
        }
    block: dict[str, Any] = {
        "reason": "restricted" if row.kind == 0 else "related_party_restricted",
        "restriction_id": row.id,
        "restricted_payee_id": row.restricted_payee_id,
        "restriction_reason": row.reason,
        "source": row.source,
        "set_at": jsonable(row.set_at),
    }
    if row.kind == 1:
        block["related_party"] = {
            "id": row.party_id,
            "name": row.party_name,
            "role": row.party_role,
        }
    return block


def blocks_for(session: Session, payee_ids: Collection[int]) -> dict[int, list[dict[str, Any]]]:
    """What stops paying each of ``payee_ids`` now (a payee that nothing stops is
    not in the answer): restrictions, its own and those behind it, then open review
    cases, each in the order it was made. Fail closed: a possible match blocks
    until compliance resolves it."""
    blocks: dict[int, list[dict[str, Any]]] = {}
    statement = _blocks_statement(session.get_bind().dialect.name)
    for part in chunks(sorted(set(payee_ids))):
        for row in session.execute(statement, {"payee_ids": list(part)}):
            blocks.setdefault(row.payee_id, []).append(_block(row))
    return blocks


def payment_blocks(session: Session, payee: Payee) -> list[dict[str, Any]]:
    """What stops paying ``payee`` now (``blocks_for`` for one payee)."""
    return blocks_for(session, [payee.id]).get(payee.id, [])


def assert_payable(
    session: Session,
    payee: Payee,
    *,
    action: str,
    actor_id: int | None = None,
    spending_request_id: int | None = None,
    latest_lists: Any = ASK,
) -> dict[str, Any]:
    """Refuse with ``payee_restricted`` if anything blocks paying ``payee``
    (``blocks_for``), or if screening it now against the current lists finds a hit
    no case covers yet (its case is opened even though the act is refused).

    Returns the screening state that let the act through, for the record.
    ``latest_lists``: the latest list version if the caller read it already
    (``screening.services.name_index``)."""
    new_hits, persist, entries = screening_gate(session, payee, actor_id, latest_lists)
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
    """A block in a few words, for an error's detail."""
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
