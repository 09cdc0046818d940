"""The kinds of job, each a handler that calls the services that do the work.

Each is idempotent: run again after a crash, it finishes what is left and does
nothing twice. The rule each relies on for that is named in its docstring.

``notification.deliver`` delivers one notification (``ledger/notifications``),
enqueued by ``notifications.services.notify`` in the transaction of the act it
tells of, and again by the scheduler for each retry (``retry_due``).
"""

from __future__ import annotations

import time
from typing import Any

from flask import current_app

from ledger.auth.models import User
from ledger.db import db
from ledger.jobs.services import JobRun, handles

# Progress of a batch is written at most this often (seconds), and at its end.
PROGRESS_EVERY = 1.0


@handles("batch.post")
def post_batch(run: JobRun) -> dict[str, Any]:
    """Post a batch chunk after chunk (``batches.runner.run_posting``). Resumable:
    it pays the rows still ``ready``; a row's payment record has a unique
    ``row_id``, so no row is paid twice, whichever run pays it."""
    from ledger.batches.models import Batch
    from ledger.batches.runner import run_posting
    from ledger.batches.services import ChunkResult, state_counts

    batch_id = int(run.arguments["batch_id"])
    assert run.created_by is not None, "a batch is posted by the treasurer who started it"
    chunk_size = int(current_app.config.get("BATCH_CHUNK_SIZE", 1000))

    def read() -> dict[str, Any]:
        with db.transaction() as session:
            batch = session.get(Batch, batch_id)
            chunks = batch.chunks_posted if batch is not None else 0
            return {
                "batch_id": batch_id,
                "chunks_posted": chunks,
                **state_counts(session, batch_id),
            }

    last = time.monotonic()

    def on_chunk(result: ChunkResult) -> None:
        nonlocal last
        if time.monotonic() - last >= PROGRESS_EVERY:
            run.report(read())
            last = time.monotonic()

    run_posting(batch_id, run.created_by, chunk_size=chunk_size, on_chunk=on_chunk)
    return read()


@handles("watchlist.rescreen")
def rescreen_payees(run: JobRun) -> dict[str, Any]:
    """Screen every payee again after a list import, ``JOBS_RESCREEN_CHUNK`` payees a
    transaction, in id order. Each chunk commits its cases with the job's cursor
    (``after_payee_id``), so a resumed job starts after the last committed chunk;
    and a hit that a case covers is not a new hit, so no payee gets a second case
    for the same entry."""
    from ledger.screening.services import rescreen_payees as rescreen

    chunk = int(current_app.config["JOBS_RESCREEN_CHUNK"])
    progress = {
        "after_payee_id": 0,
        "payees_screened": 0,
        "cases_opened": 0,
        **run.progress,
    }
    while True:
        with db.transaction() as session:
            actor = session.get(User, run.created_by) if run.created_by else None
            done = rescreen(
                session,
                actor,
                str(run.arguments["trigger"]),
                after_payee_id=int(progress["after_payee_id"]),
                limit=chunk,
            )
            if done.payees_screened == 0:
                return progress
            progress = {
                "after_payee_id": done.last_payee_id,
                "payees_screened": progress["payees_screened"] + done.payees_screened,
                "cases_opened": progress["cases_opened"] + done.cases_opened,
            }
            run.report(progress, session)


@handles("requests.expire")
def expire_requests(run: JobRun) -> dict[str, Any]:
    """Record every undecided request whose time is up as expired. Idempotent: an
    expired request is no longer pending."""
    from ledger.committee.services import expire_due

    with db.transaction() as session:
        return {"expired": expire_due(session)}


@handles("checkpoint.sign")
def sign_checkpoint(run: JobRun) -> dict[str, Any]:
    """Sign the audit chain's head. Run twice, it signs the head twice: two
    checkpoints of the same chain, both true."""
    from ledger.audit.checkpoints import sign_checkpoint as sign

    with db.transaction() as session:
        checkpoint = sign(session, None, "scheduled")
        return {"checkpoint_id": checkpoint.id, "seq": checkpoint.seq}


@handles("notification.deliver")
def deliver_notification(run: JobRun) -> dict[str, Any]:
    """Make one attempt to deliver a notification (``notifications.services.deliver``).
    Idempotent: the attempt's number is in the arguments, and a delivered
    notification, or an attempt made already, is not sent again. A failed attempt
    does not fail the job: the notification keeps the time of its next attempt,
    and the scheduler asks for it then (its own backoff, visible to admins)."""
    from ledger.notifications.services import deliver

    return deliver(int(run.arguments["notification_id"]), int(run.arguments["attempt"]))
