"""Jobs: enqueue one in the caller's transaction, run one in a worker.

``enqueue`` writes the job row and asks for its message to be sent once the
transaction commits (``ledger.jobs.queue``): a worker never gets the id of a job
that was rolled back, and a job whose message was lost after the commit is sent
again by the scheduler (``resend_stale``).

``run_job`` is what a worker does with a message. Every handler is idempotent:
a job may run more than once (a worker killed with SIGKILL leaves its message
to the broker, which hands it to another; a transient failure is retried with
backoff), and the second run finishes what the first left, never doing twice
what the first committed.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from dramatiq.threading import Interrupt
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ledger.auth.models import Actor
from ledger.db import db, is_postgresql, utcnow
from ledger.errors import LedgerError
from ledger.jobs.models import FINISHED, Job

log = logging.getLogger(__name__)

# session.info key: ids of jobs to send once the session's transaction commits.
TO_SEND = "ledger.jobs.to_send"


@dataclass
class JobRun:
    """What a handler is given: the job as it stood when this run began (a
    resumed job finds in ``progress`` what an earlier run reported)."""

    id: int
    kind: str
    arguments: dict[str, Any]
    created_by: int | None
    attempt: int  # 1 for the first run, 2 for the next (a retry or a resume) …
    progress: dict[str, Any] = field(default_factory=dict)

    def report(self, progress: dict[str, Any], session: Session | None = None) -> None:
        """Record progress: in ``session``'s transaction (committed with the work it
        describes), or else in a transaction of its own."""
        self.progress = progress
        statement = update(Job).where(Job.id == self.id).values(progress=progress)
        if session is not None:
            session.execute(statement)
            return
        with db.transaction() as own:
            own.execute(statement)


Handler = Callable[[JobRun], dict[str, Any] | None]
HANDLERS: dict[str, Handler] = {}


def handles(kind: str) -> Callable[[Handler], Handler]:
    """Register the handler of a kind of job (``ledger/jobs/handlers.py``). What it
    returns becomes the job's final progress."""

    def register(handler: Handler) -> Handler:
        if kind in HANDLERS and HANDLERS[kind] is not handler:
            raise ValueError(f"a handler for {kind!r} is registered already")
        HANDLERS[kind] = handler
        return handler

    return register


# ---------------------------------------------------------------- enqueueing


def enqueue(
    session: Session,
    kind: str,
    arguments: dict[str, Any] | None = None,
    *,
    actor: Actor | None = None,
    dedupe_key: str | None = None,
) -> Job:
    """A new job of ``kind``, queued, its message sent when the transaction commits.

    With ``dedupe_key``, a job that holds the key already is returned instead and
    nothing is sent: however many schedulers enqueue a period's job, it exists once
    (the unique key decides, on both databases)."""
    if kind not in HANDLERS:
        raise ValueError(f"no handler for jobs of kind {kind!r}")
    now = utcnow()
    values = {
        "kind": kind,
        "arguments": arguments or {},
        "state": "queued",
        "progress": {},
        "attempts": 0,
        "dedupe_key": dedupe_key,
        "created_by": actor.id if actor else None,
        "created_at": now,
        "sent_at": now,
    }
    if dedupe_key is None:
        new = Job(**values)
        session.add(new)
        session.flush()
        send_after_commit(session, new.id)
        return new
    insert = postgresql.insert if is_postgresql(session) else sqlite.insert
    new_id = session.scalar(
        insert(Job)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Job.id)
    )
    if new_id is not None:
        send_after_commit(session, new_id)
        key = new_id
    else:
        key = session.scalar(select(Job.id).where(Job.dedupe_key == dedupe_key))
    job = session.get(Job, key)
    assert job is not None
    return job


def send_after_commit(session: Session, job_id: int) -> None:
    """Send the job's message once ``session`` commits (nothing if it rolls back)."""
    session.info.setdefault(TO_SEND, []).append(job_id)


def unfinished(session: Session, kind: str, **arguments: Any) -> Job | None:
    """The latest queued or running job of ``kind`` whose arguments include these."""
    return latest(session, kind, ("queued", "running"), **arguments)


def latest(
    session: Session, kind: str, states: tuple[str, ...] | None = None, **arguments: Any
) -> Job | None:
    """The latest job of ``kind`` (in one of ``states``, if given) whose arguments
    include these: what a page shows beside the record the job works on."""
    stmt = select(Job).where(Job.kind == kind).order_by(Job.id.desc())
    if states is not None:
        stmt = stmt.where(Job.state.in_(states))
    for job in session.scalars(stmt):
        if all(job.arguments.get(k) == v for k, v in arguments.items()):
            return job
    return None


def resend_stale(session: Session, older_than: dt.timedelta) -> list[int]:
    """Send again every job still queued and never started whose message went out
    longer ago than ``older_than``: a message lost between the commit and the
    broker, or with the process that held it (no broker: ``make run``). Each is
    claimed by moving its ``sent_at``, so several schedulers send it once."""
    now = utcnow()
    ids = list(
        session.scalars(
            update(Job)
            .where(
                Job.state == "queued",
                Job.attempts == 0,
                Job.sent_at < now - older_than,
            )
            .values(sent_at=now)
            .returning(Job.id)
        )
    )
    for job_id in ids:
        send_after_commit(session, job_id)
    return ids


# ---------------------------------------------------------------- running


_running_here: set[int] = set()
_running_lock = threading.Lock()


@contextmanager
def exclusive(job_id: int) -> Iterator[bool]:
    """Whether this run may go ahead: no other live worker runs the job.

    PostgreSQL: a session-level advisory lock on the job's id (the single-bigint
    key space is the jobs'), held on a connection of its own for the whole run and
    not in a transaction, so that vacuum is not held back. A worker killed with
    SIGKILL loses its connection, and the lock with it: the broker hands the
    message to another worker, which takes the lock and goes on. A duplicate
    message for a job that a live worker runs finds it taken and is dropped.
    SQLite (one process: ``make run``): the same within the process."""
    engine = db.engine
    if engine.dialect.name != "postgresql":
        with _running_lock:
            taken = job_id in _running_here
            _running_here.add(job_id)
        try:
            yield not taken
        finally:
            if not taken:
                with _running_lock:
                    _running_here.discard(job_id)
        return
    connection = engine.connect()
    try:
        taken = not connection.scalar(select(sa.func.pg_try_advisory_lock(job_id)))
        connection.commit()
    except BaseException:
        connection.invalidate()
        connection.close()
        raise
    try:
        yield not taken
    finally:
        try:
            if not taken:
                connection.scalar(select(sa.func.pg_advisory_unlock(job_id)))
                connection.commit()
        except BaseException:
            # The lock must not stay with a pooled connection: drop the connection.
            connection.invalidate()
            raise
        finally:
            connection.close()


class Retry(Exception):
    """A transient failure: the worker sends the job's message again, later."""


def run_job(job_id: int, *, last_attempt: bool) -> None:
    """Run the job, if it is not finished and no other worker runs it: mark it
    running, call its kind's handler, record the outcome.

    A domain error (``LedgerError``: a refusal, a conflict) fails the job at once,
    since running it again would be refused again. Any other error is recorded and
    raised again for the queue to retry with backoff, unless this was the
    ``last_attempt``, which fails the job."""
    with exclusive(job_id) as mine:
        if not mine:
            log.info("job %s runs in another worker; this message is dropped", job_id)
            return
        run = _start(job_id)
        if run is None:
            return
        log.info("job %s (%s) started", run.id, run.kind)
        try:
            outcome = HANDLERS[run.kind](run)
        except LedgerError as error:
            _finish(run.id, "failed", run.progress, f"{error.code}: {error.detail}")
            log.warning("job %s (%s) failed: %s", run.id, run.kind, error.detail)
            return
        except Exception as error:
            state = "failed" if last_attempt else "queued"
            _finish(run.id, state, run.progress, f"{type(error).__name__}: {error}"[:4000])
            log.warning("job %s (%s) %s: %r", run.id, run.kind, state, error, exc_info=True)
            raise Retry(str(error)) from error
        except Interrupt as interrupt:
            # Dramatiq's time limit or shutdown, raised into this thread: the job is
            # retried (it resumes), and says why it stopped meanwhile.
            state = "failed" if last_attempt else "queued"
            _finish(run.id, state, run.progress, f"{type(interrupt).__name__}: interrupted")
            raise
        _finish(run.id, "done", run.progress if outcome is None else outcome, None)
        log.info("job %s (%s) done", run.id, run.kind)


def _start(job_id: int) -> JobRun | None:
    with db.transaction() as session:
        job = session.get(Job, job_id)
        if job is None or job.state in FINISHED:
            return None
        if job.kind not in HANDLERS:
            job.state, job.error, job.finished_at = "failed", f"no handler for {job.kind}", utcnow()
            return None
        job.state = "running"
        job.attempts += 1
        job.started_at = job.started_at or utcnow()
        return JobRun(
            job.id, job.kind, dict(job.arguments), job.created_by, job.attempts, dict(job.progress)
        )


def _finish(job_id: int, state: str, progress: dict[str, Any], error: str | None) -> None:
    values: dict[str, Any] = {"state": state, "progress": progress, "error": error}
    if state in FINISHED:
        values["finished_at"] = utcnow()
    with db.transaction() as session:
        session.execute(update(Job).where(Job.id == job_id).values(**values))
