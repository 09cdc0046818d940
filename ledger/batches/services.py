"""Batches: intake (validate, match or register payees, screen), one spending
request for the total, and posting in chunks against its approval.

Posting is crash-safe by construction: each chunk is one transaction that moves
its rows ``ready → paid`` (or ``held``), writes their payment records and the
chunk's journal entry together. A crash loses at most the uncommitted chunk; the
next run picks up the rows still ``ready``. ``batch_payments.row_id`` is unique,
so a row paid twice is a constraint violation, not a possibility.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ledger.audit.services import jsonable, record, snapshot
from ledger.auth.models import Actor
from ledger.batches.intake import RowIn, read_upload, validate_rows
from ledger.batches.models import Batch, BatchPayment, BatchRow
from ledger.bulk import among, chunks, insert_many, insert_many_returning_ids
from ledger.committee.models import SpendingRequest
from ledger.committee.policy import QuorumPolicy
from ledger.committee.services import (
    assert_not_voter,
    assert_paid_after_approval,
    lock_request,
    lock_request_to_pay,
    release_base_for,
    request_dimensions,
    submit_request,
)
from ledger.compliance.payability import assert_payable, blocks_for
from ledger.db import get_or_404, utcnow
from ledger.disbursements.models import CHUNK_REFERENCE_PREFIX, Disbursement
from ledger.errors import (
    Conflict,
    ExceedsApproval,
    LedgerError,
    NotApproved,
    ValidationFailed,
)
from ledger.funding.allocation import allocate_disbursement
from ledger.funding.models import Fund
from ledger.jobs.models import Job
from ledger.jobs.services import enqueue, send_after_commit, unfinished
from ledger.journal.services import (
    CASH,
    COMMITMENT_RESERVE,
    COMMITMENTS,
    DISBURSEMENTS,
    Line,
    assert_value_date_sane,
    post_entry,
)
from ledger.money import Money
from ledger.notifications.services import EventSubject, notify, users_with_roles
from ledger.payees.models import Payee
from ledger.screening.models import WatchlistVersion
from ledger.screening.services import (
    Subject,
    name_index,
    open_cases,
    screening_workers,
    search_subjects,
    uncovered,
)

CHUNK_SIZE = 1000


def chunk_reference(batch_id: int, chunk_no: int) -> str:
    """The bank reference of a chunk's disbursement (no other payment takes one)."""
    return f"{CHUNK_REFERENCE_PREFIX}{batch_id}-{chunk_no:05d}"


NATIONAL_ID = "national_id"


# ---------------------------------------------------------------- screening in bulk


def lists_version(session: Session) -> str:
    """Which list versions the screening sees: the latest import's id."""
    latest = session.scalar(select(func.max(WatchlistVersion.id)))
    return str(latest or 0)


def _row_subject(
    payee_id: int,
    name: str | None,
    original_script_name: str | None,
    national_id: str | None,
    country: str | None,
    birth_date: str | None = None,
) -> Subject:
    """A batch row's payee as the matcher sees it: a person, with the row's names,
    national ID and birth date (or year), and the batch's country."""
    return Subject(
        payee_id,
        None,
        name or "",
        tuple(n for n in (name, original_script_name) if n),
        birth_date,
        country,
        (national_id,) if national_id else (),
        "person",
    )


def screen_subjects(
    session: Session, actor: Actor | None, subjects: list[Subject], trigger: str
) -> int:
    """Screen many payees at once (`search_subjects` over the configured worker
    processes); open a review case for each new hit. Returns the cases opened."""
    hits = search_subjects(name_index(session), subjects, workers=screening_workers())
    return len(open_cases(session, actor, uncovered(session, hits), trigger))


# ---------------------------------------------------------------- intake


def _national_id_index(session: Session) -> dict[str, int]:
    """Registered individuals by national ID (the oldest payee wins a tie)."""
    found: dict[str, int] = {}
    rows = session.execute(
        select(Payee.id, Payee.identifiers).where(Payee.kind == "individual").order_by(Payee.id)
    )
    for payee_id, identifiers in rows:
        for ident in identifiers or ():
            if isinstance(ident, dict) and ident.get("type") == NATIONAL_ID:
                found.setdefault(str(ident.get("value")), payee_id)
    return found


def _references_in_use(session: Session, fund_id: int, references: list[str]) -> dict[str, int]:
    """References already carried by a live row of another batch of the fund."""
    used: dict[str, int] = {}
    for part in chunks(references):
        for ref, batch_id in session.execute(
            select(BatchRow.reference, BatchRow.batch_id)
            .join(Batch, Batch.id == BatchRow.batch_id)
            .where(
                Batch.fund_id == fund_id,
                BatchRow.state.in_(("ready", "held", "paid")),
                among(session, BatchRow.reference, part),
            )
        ):
            if ref is not None:
                used.setdefault(ref, batch_id)
    return used


def submit_batch(
    session: Session,
    actor: Actor,
    policy: QuorumPolicy,
    *,
    fund_id: int,
    project_id: int,
    payee_id: int,
    name: str,
    purpose: str,
    currency: str,
    country: str,
    data: bytes,
    expiry_days: int = 30,
) -> Batch:
    """Take an upload: validate every row (errors kept per row, with its line),
    match each valid row to a registered individual by national ID or register a new
    one, screen them all, and submit the total of the payable rows to the committee
    as one spending request for ``payee_id`` (the payee standing for the programme).

    Rows that are invalid, or whose payee is restricted or under review, are kept
    and listed but are not part of the request; they are never posted."""
    fund = get_or_404(session, Fund, fund_id)
    if currency != fund.base_currency:
        raise ValidationFailed(
            "currency", f"A batch is paid in the fund's base currency, {fund.base_currency}."
        )
    rows = validate_rows(read_upload(data), currency)
    valid = [r for r in rows if not r.errors]
    used = _references_in_use(session, fund.id, [str(r.values["reference"]) for r in valid])
    for row in valid:
        other = used.get(str(row.values["reference"]))
        if other is not None:
            row.refuse("reference", f"Already in batch {other} of this fund: paid once only.")
    valid = [r for r in rows if not r.errors]

    payee_of = _register_payees(session, actor, valid, country)
    subjects = [
        _row_subject(
            payee_of[id(r)],
            str(r.values["name"]),
            r.values["original_script_name"] and str(r.values["original_script_name"]),
            str(r.values["national_id"]),
            country,
            r.values.get("birth_date"),
        )
        for r in valid
    ]
    cases = screen_subjects(session, actor, subjects, "batch intake")
    session.flush()
    blocks = blocks_for(session, payee_of.values())
    total = sum(r.amount_minor or 0 for r in valid if payee_of[id(r)] not in blocks)
    if total <= 0:
        raise ValidationFailed(
            "file", "No row can be paid: every row is invalid, restricted or under review."
        )
    request = submit_request(
        session,
        actor,
        policy,
        fund_id=fund.id,
        project_id=project_id,
        payee_id=payee_id,
        amount=Money(total, currency),
        purpose=purpose,
        expiry_days=expiry_days,
    )
    batch = Batch(
        fund_id=fund.id,
        project_id=project_id,
        payee_id=payee_id,
        spending_request_id=request.id,
        name=name,
        currency=currency,
        total_minor=total,
        status="submitted",
        source_sha256=hashlib.sha256(data).hexdigest(),
        screened_against=lists_version(session),
        submitted_by=actor.id,
    )
    session.add(batch)
    session.flush()
    insert_many(
        session,
        BatchRow,
        [_row_record(batch.id, r, payee_of.get(id(r)), blocks) for r in rows],
    )
    counts = state_counts(session, batch.id)
    record(
        session,
        actor,
        "batch.submitted",
        batch,
        after={**snapshot(batch), "rows": counts, "review_cases_opened": cases},
    )
    return batch


def _row_record(
    batch_id: int, row: RowIn, payee_id: int | None, blocks: dict[int, list[dict[str, Any]]]
) -> dict[str, Any]:
    values = row.values
    problems: dict[str, Any] | None
    if row.errors:
        state, problems = "invalid", {"errors": row.errors}
    elif payee_id in blocks:
        state, problems = "held", {"blocks": blocks[payee_id]}
    else:
        state, problems = "ready", None
    return {
        "batch_id": batch_id,
        "line": row.line,
        "state": state,
        "name": (values.get("name") or None) and str(values["name"])[:300],
        "national_id": (values.get("national_id") or None) and str(values["national_id"])[:64],
        "original_script_name": (values.get("original_script_name") or None)
        and str(values["original_script_name"])[:300],
        "birth_date": (values.get("birth_date") or None) and str(values["birth_date"])[:10],
        "account": (values.get("account") or None) and str(values["account"])[:64],
        "amount_minor": row.amount_minor,
        "currency": (values.get("currency") or None) and str(values["currency"])[:3],
        "reference": (values.get("reference") or None) and str(values["reference"])[:100],
        "payee_id": payee_id,
        "problems": problems,
    }


def _full_date(text: str | None) -> dt.date | None:
    """A row's birth date as a payee keeps it: a full date only (a year alone
    stays on the row)."""
    return dt.date.fromisoformat(text) if text and len(text) == 10 else None


def _register_payees(
    session: Session, actor: Actor, rows: list[RowIn], country: str
) -> dict[int, int]:
    """Map each row (by ``id(row)``) to a payee: the registered individual with its
    national ID, or a new one registered now, in one bulk insert."""
    known = _national_id_index(session)
    new: dict[str, RowIn] = {}
    for row in rows:
        nid = str(row.values["national_id"])
        if nid not in known and nid not in new:
            new[nid] = row
    if new:
        now = utcnow()
        records = [
            {
                "name": str(r.values["name"]),
                "kind": "individual",
                "country": country,
                "aliases": [],
                "original_script_name": r.values["original_script_name"],
                "identifiers": [{"type": NATIONAL_ID, "value": nid}],
                "birth_date": _full_date(r.values.get("birth_date")),
                "bank_account": r.values["account"],
                "created_by": actor.id,
                "created_at": now,
            }
            for nid, r in new.items()
        ]
        ids = insert_many_returning_ids(session, Payee, records)
        known.update(zip(new, ids, strict=True))
        # One event for the whole registration: each payee is a row of its own,
        # created by this event (its ids are a contiguous, listed range).
        record(
            session,
            actor,
            "batch.payees_registered",
            ("payees", None),
            after={"count": len(ids), "payee_ids": [min(ids), max(ids)], "country": country},
        )
    return {id(r): known[str(r.values["national_id"])] for r in rows}


# ---------------------------------------------------------------- progress


def state_counts(session: Session, batch_id: int) -> dict[str, int]:
    counts = {"invalid": 0, "ready": 0, "held": 0, "paid": 0}
    for state, n in session.execute(
        select(BatchRow.state, func.count())
        .where(BatchRow.batch_id == batch_id)
        .group_by(BatchRow.state)
    ):
        counts[state] = int(n)
    return counts


def progress(session: Session, batch: Batch) -> dict[str, Any]:
    """Counts per state, amounts paid, and how far posting has gone (percent of the
    valid rows that are no longer waiting), read from the rows themselves."""
    counts = state_counts(session, batch.id)
    paid_minor = session.scalar(
        select(func.coalesce(func.sum(BatchPayment.amount_minor), 0)).where(
            BatchPayment.batch_id == batch.id
        )
    )
    valid = counts["ready"] + counts["held"] + counts["paid"]
    done = counts["held"] + counts["paid"] if batch.status != "submitted" else 0
    percent = 100.0 if batch.status == "posted" else (100.0 * done / valid if valid else 0.0)
    return {
        "rows": {**counts, "total": sum(counts.values())},
        "paid_amount": str(Money(int(paid_minor or 0), batch.currency)),
        "percent": round(percent, 2),
        "chunks_posted": batch.chunks_posted,
    }


# ---------------------------------------------------------------- posting


def start_posting(
    session: Session, actor: Actor, *, batch_id: int, paid_on: dt.date | None
) -> Batch:
    """The treasurer starts (or resumes) paying an approved batch. Starting again
    while it is posting is a resume: safe, since chunks never pay a row twice."""
    batch = get_or_404(session, Batch, batch_id)
    lock = lock_request_to_pay(session, batch.spending_request_id, actor.id)
    request = lock.request
    if request.status != "approved":
        raise NotApproved(
            f"Batch {batch.id}'s spending request {request.id} is {request.status}; "
            "only an approved batch is posted.",
            spending_request_id=request.id,
            payee_id=request.payee_id,
        )
    assert_not_voter(lock)
    session.refresh(batch)
    if batch.status == "posted":
        raise Conflict(f"Batch {batch.id} is posted already.")
    if batch.status == "submitted":
        paid_on = paid_on or utcnow().date()
        assert_value_date_sane(paid_on, opens_on=request.fund.opens_on, field="paid_on")
        assert_paid_after_approval(request, paid_on)
        before = snapshot(batch)
        batch.status = "posting"
        batch.posted_by = actor.id
        batch.paid_on = paid_on
        batch.posting_started_at = utcnow()
        record(session, actor, "batch.posting_started", batch, before=before)
    return batch


def post_in_background(
    session: Session, actor: Actor, *, batch_id: int, paid_on: dt.date | None
) -> tuple[Batch, Job]:
    """Start (or resume) posting the batch (``start_posting``) and leave the paying
    to a ``batch.post`` job, sent once the transaction commits: the batch's job
    still queued or running, sent again (its worker may have died), or a new one.
    A second message for a job that a live worker runs is dropped by the worker
    that gets it (``jobs.services.exclusive``)."""
    batch = start_posting(session, actor, batch_id=batch_id, paid_on=paid_on)
    job = unfinished(session, "batch.post", batch_id=batch.id)
    if job is None:
        job = enqueue(session, "batch.post", {"batch_id": batch.id}, actor=actor)
    else:
        send_after_commit(session, job.id)
    return batch, job


@dataclass(frozen=True)
class ChunkResult:
    paid: int
    held: int
    done: bool


def post_chunk(
    session: Session, actor: Actor, *, batch_id: int, chunk_size: int = CHUNK_SIZE
) -> ChunkResult:
    """Pay the next ``chunk_size`` rows still ``ready``, in one transaction (the
    caller commits): each row's payee is checked again now and a blocked row is
    ``held`` with its reason; the others get their payment record, and the chunk
    one disbursement against the batch's approval and one balanced journal entry.

    The request's row lock serialises concurrent runs of the same batch (and any
    other payment on its approval): a second run waits, then finds the rows paid."""
    batch = get_or_404(session, Batch, batch_id)
    request = lock_request(session, batch.spending_request_id)
    session.refresh(batch)
    if batch.status != "posting":
        return ChunkResult(0, 0, batch.status == "posted")
    if request.status != "approved":
        raise NotApproved(
            f"Spending request {request.id} is {request.status}; the batch cannot be paid.",
            spending_request_id=request.id,
        )
    rows = session.execute(
        select(
            BatchRow.id,
            BatchRow.payee_id,
            BatchRow.amount_minor,
            BatchRow.reference,
            BatchRow.name,
            BatchRow.original_script_name,
            BatchRow.national_id,
            BatchRow.birth_date,
        )
        .where(BatchRow.batch_id == batch.id, BatchRow.state == "ready")
        .order_by(BatchRow.id)
        .limit(chunk_size)
    ).all()
    if not rows:
        before = snapshot(batch)
        batch.status = "posted"
        batch.posted_at = utcnow()
        record(
            session,
            actor,
            "batch.posted",
            batch,
            before=before,
            after={**snapshot(batch), "rows": state_counts(session, batch.id)},
        )
        _tell(session, actor, batch, "batch.posted", f"Batch {batch.id} was posted", {})
        return ChunkResult(0, 0, True)

    payee_ids = {r.payee_id for r in rows}
    # The programme's payee is checked like any payee at payment (its gate).
    programme = get_or_404(session, Payee, batch.payee_id)
    screening = assert_payable(
        session, programme, action="post batch", actor_id=actor.id, spending_request_id=request.id
    )
    version = lists_version(session)
    if version != batch.screened_against:
        # A list was imported since intake (or since the last chunk that checked):
        # screen these rows' names again before paying them.
        fund_country = session.scalar(select(Payee.country).where(Payee.id == rows[0].payee_id))
        screen_subjects(
            session,
            actor,
            [
                _row_subject(
                    r.payee_id,
                    r.name,
                    r.original_script_name,
                    r.national_id,
                    fund_country,
                    r.birth_date,
                )
                for r in rows
            ],
            "batch posting",
        )
        session.flush()
    blocks = blocks_for(session, payee_ids)
    held = [r for r in rows if r.payee_id in blocks]
    payable = [r for r in rows if r.payee_id not in blocks]
    for r in held:
        session.execute(
            update(BatchRow)
            .where(BatchRow.id == r.id)
            .values(state="held", problems=jsonable({"blocks": blocks[r.payee_id]}))
        )
    total = sum(int(r.amount_minor) for r in payable)
    if total > request.remaining.minor:
        raise ExceedsApproval(
            f"Spending request {request.id} has {request.remaining} {request.currency} left; "
            f"the chunk needs {Money(total, request.currency)}.",
            spending_request_id=request.id,
        )
    chunk_no = batch.chunks_posted + 1
    entry_id = None
    disbursement_id = None
    if payable:
        fund = get_or_404(session, Fund, batch.fund_id)
        paid_on = batch.paid_on or utcnow().date()
        commitment_base = release_base_for(session, request, total)
        disbursement = Disbursement(
            spending_request_id=request.id,
            fund_id=fund.id,
            payee_id=batch.payee_id,
            amount_minor=total,
            currency=batch.currency,
            base_amount_minor=total,
            reference=chunk_reference(batch.id, chunk_no),
            paid_on=paid_on,
            screening={**screening, "batch_id": batch.id, "rows": len(payable)},
            created_by=actor.id,
        )
        session.add(disbursement)
        session.flush()
        dims = request_dimensions(request)
        entry = post_entry(
            session,
            fund_id=fund.id,
            kind="disbursement",
            value_date=paid_on,
            memo=f"Batch {batch.id} chunk {chunk_no}: {len(payable)} payments "
            f"(disbursement {disbursement.id})",
            source=("disbursement", disbursement.id),
            lines=[
                Line(DISBURSEMENTS, batch.currency, total, total, dims),
                Line(CASH, batch.currency, -total, -total, dims),
                Line(COMMITMENT_RESERVE, batch.currency, total, commitment_base, dims),
                Line(COMMITMENTS, batch.currency, -total, -commitment_base, dims),
            ],
            actor=actor,
        )
        allocate_disbursement(
            session,
            spending_request_id=request.id,
            disbursement_id=disbursement.id,
            base_minor=commitment_base,
            value_date=paid_on,
        )
        now = utcnow()
        insert_many(
            session,
            BatchPayment,
            [
                {
                    "batch_id": batch.id,
                    "row_id": r.id,
                    "payee_id": r.payee_id,
                    "amount_minor": int(r.amount_minor),
                    "currency": batch.currency,
                    "reference": r.reference,
                    "disbursement_id": disbursement.id,
                    "journal_entry_id": entry.id,
                    "paid_on": paid_on,
                    "created_at": now,
                }
                for r in payable
            ],
        )
        # ``state = 'ready'`` in the WHERE: a row is moved to paid at most once.
        moved = session.execute(
            update(BatchRow)
            .where(among(session, BatchRow.id, [r.id for r in payable]), BatchRow.state == "ready")
            .values(state="paid")
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != len(payable):  # type: ignore[attr-defined]
            raise Conflict(f"Batch {batch.id}: rows changed under the chunk; run it again.")
        request.disbursed_minor += total
        entry_id, disbursement_id = entry.id, disbursement.id
    batch.chunks_posted = chunk_no
    batch.last_chunk_at = utcnow()
    batch.screened_against = version
    # One audit event per chunk: the rows it paid are in batch_payments (append-only),
    # each naming this chunk's disbursement and journal entry.
    record(
        session,
        actor,
        "batch.chunk_posted",
        ("batches", batch.id),
        after={
            "chunk": chunk_no,
            "rows_paid": len(payable),
            "rows_held": len(held),
            "amount": str(Money(total, batch.currency)),
            "first_row_id": rows[0].id,
            "last_row_id": rows[-1].id,
            "disbursement_id": disbursement_id,
            "journal_entry_id": entry_id,
        },
    )
    return ChunkResult(len(payable), len(held), False)


def _tell(
    session: Session,
    actor: Actor | None,
    batch: Batch,
    kind: str,
    title: str,
    facts: dict[str, Any],
) -> None:
    """Tell the treasurers and the clerk who submitted the batch."""
    notify(
        session,
        kind,
        EventSubject(
            "batches",
            batch.id,
            title,
            {
                "batch_id": batch.id,
                "name": batch.name,
                "spending_request_id": batch.spending_request_id,
                **state_counts(session, batch.id),
                **facts,
            },
        ),
        [*users_with_roles(session, "treasurer"), batch.submitted_by],
        actor=actor,
    )


def posting_stopped(
    session: Session, actor: Actor | None, batch_id: int, error: LedgerError
) -> None:
    """A posting run stopped by a rule (the approval no longer covers it, the
    request is no longer approved …): the batch stays ``posting``, its rows paid so
    far paid, and the treasurers and its clerk are told why."""
    batch = session.get(Batch, batch_id)
    if batch is None:
        return
    _tell(
        session,
        actor,
        batch,
        "batch.stopped",
        f"Posting of batch {batch.id} stopped: {error.code}",
        {"code": error.code, "detail": error.detail[:500]},
    )


def rows_query(batch_id: int, state: str | None) -> sa.Select[Any]:
    stmt = select(BatchRow).where(BatchRow.batch_id == batch_id)
    if state:
        stmt = stmt.where(BatchRow.state == state)
    return stmt


def batch_of_request(session: Session, request_id: int) -> Batch | None:
    """The batch that ``request_id`` approves, if it is a batch's request."""
    return session.scalar(select(Batch).where(Batch.spending_request_id == request_id))


def request_status(session: Session, batch: Batch) -> str:
    request = session.get(SpendingRequest, batch.spending_request_id)
    return request.current_status if request is not None else "unknown"
