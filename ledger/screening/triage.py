"""Review cases in groups: one decision for many cases (issue 23, item 3).

A batch of 100,000 households held 3,834 rows for review: one case each, cleared
one ``POST`` at a time. Most are different household heads matching the same few
names of the same few list entries (``Mohammed Ahmad Ali Al-Masri`` and
``Mohammed Khalil Al-Masri`` against a listed ``AL-MASRI, Mohammed``). A *group*
is every open match case of one list entry (its content as it stands: a changed
entry is a new row) on one of its names, as the matcher reads it
(``listed_key``): the batch benchmark's 4,490 held cases fall in 194 groups.

One decision, with its reason, confirms a group (each payee restricted, as a
single confirmation does) or clears it. A clearance holds for the payee names it
cleared (``name_key``: ``Haniyeh, Ismail`` and ``Ismail HANIYA`` are one name)
against that entry until the entry changes: the same names in the next batch
open no case (``cleared_pairs``, asked by ``services.uncovered``); a new name
does. Clearing a group of more than ``TRIAGE_SECOND_OFFICER_ABOVE`` cases is a
proposal until a second compliance officer approves it; the cases stay open (and
block) until then.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.audit.services import record, snapshot
from ledger.auth.models import Actor
from ledger.batches.models import BatchRow
from ledger.bulk import among, chunks
from ledger.db import get_or_404, lock_row, utcnow
from ledger.errors import Conflict, NotFound, SeparationOfDuties
from ledger.screening.models import GroupClearance, ReviewCase, WatchlistEntry
from ledger.screening.names import normalize_name


def name_key(name: str) -> str:
    """A matched name as the matcher reads it, its parts in order of their keys:
    the key cases are grouped by (``Haniyeh, Ismail`` and ``Ismail HANIYA`` are
    one name)."""
    key = " ".join(sorted(t.prefix + t.key for t in normalize_name(name).tokens))
    return (key or name.casefold().strip())[:300]


def second_officer_above() -> int:
    if has_app_context():
        return int(current_app.config["TRIAGE_SECOND_OFFICER_ABOVE"])
    return 25


def _fill_keys(session: Session) -> None:
    """Cases opened before cases had keys get them from their evidence."""
    missing = session.execute(
        select(ReviewCase.id, ReviewCase.evidence).where(
            ReviewCase.listed_key.is_(None), ReviewCase.kind == "match"
        )
    ).all()
    if missing:
        table = ReviewCase.__table__
        session.execute(
            sa.update(table)  # type: ignore[arg-type]
            .where(table.c.id == sa.bindparam("case_id"))
            .values(name_key=sa.bindparam("name"), listed_key=sa.bindparam("listed")),
            [
                {
                    "case_id": case_id,
                    "name": name_key(str((evidence or {}).get("query_name", ""))),
                    "listed": name_key(str((evidence or {}).get("entry_name", ""))),
                }
                for case_id, evidence in missing
            ],
        )


def case_groups(
    session: Session, *, batch_id: int | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The open match cases in groups, largest first: the entry, the name, how many
    cases and payees, the names as written, and the first case ids. With
    ``batch_id``, only the cases on that batch's held rows."""
    _fill_keys(session)
    case = ReviewCase
    stmt = (
        select(
            case.entry_id,
            case.listed_key,
            func.count(case.id).label("cases"),
            func.count(sa.distinct(case.payee_id)).label("payees"),
            func.min(case.opened_at).label("oldest"),
        )
        .where(case.status == "open", case.kind == "match")
        .group_by(case.entry_id, case.listed_key)
        .order_by(func.count(case.id).desc(), case.entry_id, case.listed_key)
        .limit(limit)
    )
    if batch_id is not None:
        held = select(BatchRow.payee_id).where(
            BatchRow.batch_id == batch_id, BatchRow.state == "held"
        )
        stmt = stmt.where(case.payee_id.in_(held))
    rows = session.execute(stmt).all()
    entries = {
        e.id: e
        for part in chunks(sorted({r.entry_id for r in rows}))
        for e in session.scalars(
            select(WatchlistEntry).where(among(session, WatchlistEntry.id, part))
        )
    }
    first = _first_cases(session, {r.entry_id for r in rows})
    groups = []
    for row in rows:
        members = first.get((row.entry_id, row.listed_key), [])
        entry = entries[row.entry_id]
        written = sorted({str((ev or {}).get("query_name", "")) for _, _p, ev in members})
        listed_as = sorted({str((ev or {}).get("entry_name", "")) for _, _p, ev in members})
        groups.append(
            {
                "entry_id": row.entry_id,
                "listed_key": row.listed_key,
                "listed_names": listed_as,
                "cases": row.cases,
                "payees": row.payees,
                "oldest_opened_at": row.oldest,
                "listed": {
                    "name": entry.name,
                    "kind": entry.kind,
                    "list": entry.source,
                    "source_key": entry.source_key,
                    "programmes": list(entry.data.get("programmes", ())),
                    "birth_dates": list(entry.data.get("birth_dates", ())),
                    "nationalities": list(entry.data.get("nationalities", ())),
                },
                "names_written": written[:20],
                "case_ids": [case_id for case_id, _p, _e in members],
                "payee_ids": sorted({payee_id for _c, payee_id, _e in members}),
                "needs_second_officer": row.cases > second_officer_above(),
            }
        )
    return groups


def _first_cases(
    session: Session, entry_ids: set[int], each: int = 50
) -> dict[tuple[int, str | None], list[tuple[int, int, Any]]]:
    """The first ``each`` open match cases (id, payee id, evidence) of every group of
    these entries, in one statement a chunk of entries (not one a group)."""
    case = ReviewCase
    found: dict[tuple[int, str | None], list[tuple[int, int, Any]]] = {}
    for part in chunks(sorted(entry_ids)):
        numbered = (
            select(
                case.id,
                case.payee_id,
                case.entry_id,
                case.listed_key,
                case.evidence,
                func.row_number()
                .over(partition_by=(case.entry_id, case.listed_key), order_by=case.id)
                .label("n"),
            )
            .where(case.status == "open", case.kind == "match", among(session, case.entry_id, part))
            .subquery()
        )
        rows = session.execute(
            select(
                numbered.c.id,
                numbered.c.payee_id,
                numbered.c.entry_id,
                numbered.c.listed_key,
                numbered.c.evidence,
            )
            .where(numbered.c.n <= each)
            .order_by(numbered.c.id)
        )
        for case_id, payee_id, entry_id, listed_key, evidence in rows:
            found.setdefault((entry_id, listed_key), []).append((case_id, payee_id, evidence))
    return found


def proposed_clearances(session: Session, limit: int = 100) -> list[dict[str, Any]]:
    """The group clearances proposed and awaiting a second compliance officer, the
    oldest first, each with the listed entry it clears against."""
    found = session.execute(
        select(GroupClearance, WatchlistEntry)
        .join(WatchlistEntry, WatchlistEntry.id == GroupClearance.entry_id)
        .where(GroupClearance.status == "proposed")
        .order_by(GroupClearance.id)
        .limit(limit)
    ).all()
    return [{"clearance": clearance, "entry": entry} for clearance, entry in found]


def _open_group(session: Session, entry_id: int, listed_key: str) -> list[ReviewCase]:
    _fill_keys(session)
    return list(
        session.scalars(
            select(ReviewCase)
            .where(
                ReviewCase.status == "open",
                ReviewCase.kind == "match",
                ReviewCase.entry_id == entry_id,
                ReviewCase.listed_key == listed_key,
            )
            .order_by(ReviewCase.id)
            .with_for_update(of=ReviewCase)
        )
    )


def clear_group(
    session: Session, actor: Actor, *, entry_id: int, listed_key: str, reason: str
) -> GroupClearance:
    """Clear every open case of the group with one reason, and keep its payee names
    cleared against the entry; or, for a group above ``TRIAGE_SECOND_OFFICER_ABOVE``,
    propose it for a second officer's approval (the cases stay open until then)."""
    get_or_404(session, WatchlistEntry, entry_id)
    cases = _open_group(session, entry_id, listed_key)
    if not cases:
        raise NotFound(f"No open review case of entry {entry_id} on its name '{listed_key}'.")
    clearance = GroupClearance(
        entry_id=entry_id,
        listed_key=listed_key,
        name_keys=sorted({c.name_key or "" for c in cases}),
        reason=reason,
        status="proposed",
        cases_proposed=len(cases),
        proposed_by=actor.id,
    )
    session.add(clearance)
    session.flush()
    record(session, actor, "case_group.clearance_proposed", clearance)
    if len(cases) <= second_officer_above():
        _approve(session, actor, clearance, cases)
    return clearance


def approve_clearance(session: Session, actor: Actor, *, clearance_id: int) -> GroupClearance:
    """A second compliance officer approves a proposed clearance: every case of the
    group still open is cleared (those opened since the proposal too)."""
    clearance = lock_row(session, GroupClearance, clearance_id)
    if clearance.status != "proposed":
        raise Conflict(f"Clearance {clearance.id} is {clearance.status} already.")
    if clearance.proposed_by == actor.id:
        raise SeparationOfDuties(
            f"Clearance {clearance.id} clears {clearance.cases_proposed} cases: a second "
            "compliance officer, not its proposer, approves it.",
        )
    _approve(
        session, actor, clearance, _open_group(session, clearance.entry_id, clearance.listed_key)
    )
    return clearance


def _approve(
    session: Session, actor: Actor, clearance: GroupClearance, cases: Iterable[ReviewCase]
) -> None:
    before = snapshot(clearance)
    now = utcnow()
    reason = f"Group clearance {clearance.id}: {clearance.reason}"
    names = set(clearance.name_keys)
    cleared = list(cases)
    for case in cleared:
        case.status = "cleared"
        case.resolved_by, case.resolved_at, case.resolution_reason = actor.id, now, reason[:2000]
        names.add(case.name_key or "")
    clearance.name_keys = sorted(names)  # with cases opened since the proposal
    clearance.status = "approved"
    clearance.approved_by, clearance.approved_at = actor.id, now
    clearance.cases_cleared = len(cleared)
    record(session, actor, "case_group.cleared", clearance, before=before)
    from ledger.screening.services import tell_cases_decided  # it imports this module

    tell_cases_decided(session, actor, cleared, ("group_clearances", clearance.id))


def confirm_group(
    session: Session, actor: Actor, *, entry_id: int, listed_key: str, reason: str
) -> list[ReviewCase]:
    """Confirm every open case of the group with one reason: each payee becomes
    restricted, with the entry as evidence, as one confirmation does."""
    from ledger.screening.services import confirm_case, tell_cases_decided

    cases = _open_group(session, entry_id, listed_key)
    if not cases:
        raise NotFound(f"No open review case of entry {entry_id} on its name '{listed_key}'.")
    confirmed = [
        confirm_case(session, actor, case_id=case.id, reason=reason, tell=False) for case in cases
    ]
    tell_cases_decided(session, actor, confirmed)
    return confirmed


def cleared_pairs(session: Session, entry_ids: Iterable[int]) -> set[tuple[int, str]]:
    """The (entry, payee name key) pairs an approved group clearance holds for."""
    pairs: set[tuple[int, str]] = set()
    for part in chunks(sorted(set(entry_ids))):
        for entry_id, keys in session.execute(
            select(GroupClearance.entry_id, GroupClearance.name_keys).where(
                among(session, GroupClearance.entry_id, part),
                GroupClearance.status == "approved",
            )
        ):
            pairs.update((entry_id, key) for key in keys)
    return pairs
