"""The queue: a Dramatiq broker and the one actor that runs jobs.

- ``JOBS_BROKER_URL`` set (``amqp://…`` RabbitMQ in production, or ``redis://…``):
  the application sends messages there, and ``flask --app wsgi worker`` processes,
  on any number of machines, run them. RabbitMQ acknowledges a message only once
  its job has returned, so a worker killed mid-job leaves it to another.
- Unset (``make run``, the SQLite default): Dramatiq's ``StubBroker``, with worker
  threads and the scheduler in the serving process itself, started with its first
  request or its first job. Jobs that were unfinished when the process stopped are
  sent again when it starts.
- ``JOBS_INLINE`` (the tests): a job runs in the thread that committed it, right
  after the commit; nothing is retried.

A message carries the job's id and nothing else (``ledger/jobs/services.py``).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import CurrentMessage, default_middleware
from flask import Flask, has_request_context
from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from ledger.jobs.services import TO_SEND, Retry, run_job

log = logging.getLogger(__name__)

ACTOR_NAME = "ledger.run_job"


def make_broker(url: str | None) -> dramatiq.Broker:
    """The broker for ``JOBS_BROKER_URL``: RabbitMQ, Redis, or in-process."""
    middleware = [m() for m in default_middleware] + [CurrentMessage()]
    if url is None:
        return StubBroker(middleware=middleware)
    if url.startswith(("amqp://", "amqps://")):
        # Publisher confirms: a send that RabbitMQ did not take raises, and the job
        # stays queued for the scheduler to send again.
        return RabbitmqBroker(url=url, confirm_delivery=True, middleware=middleware)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisBroker(url=url, middleware=middleware)  # type: ignore[no-untyped-call]
    raise ValueError(f"JOBS_BROKER_URL: amqp://… or redis://…, not {url.split(':')[0]}://")


class JobQueue:
    """The application's broker and actor (``app.extensions["ledger.jobs"]``)."""

    def __init__(self, app: Flask) -> None:
        config = app.config
        self.app = app
        self.broker_url: str | None = config.get("JOBS_BROKER_URL") or None
        self.inline = bool(config.get("JOBS_INLINE"))
        self.threads = int(config["JOBS_THREADS"])
        self.max_retries = int(config["JOBS_MAX_RETRIES"])
        self.broker = make_broker(self.broker_url)
        self.actor: dramatiq.Actor[[int], None] = dramatiq.Actor(
            self._perform,
            broker=self.broker,
            actor_name=ACTOR_NAME,
            queue_name=str(config["JOBS_QUEUE"]),
            priority=0,
            options={
                "max_retries": self.max_retries,
                "min_backoff": int(float(config["JOBS_MIN_BACKOFF_SECONDS"]) * 1000),
                "max_backoff": int(float(config["JOBS_MAX_BACKOFF_SECONDS"]) * 1000),
                "time_limit": int(float(config["JOBS_TIME_LIMIT_SECONDS"]) * 1000),
            },
        )
        self._worker: dramatiq.Worker | None = None
        self._scheduler: Any = None
        self._start_lock = threading.Lock()

    @property
    def in_process(self) -> bool:
        """Whether this process runs the jobs it sends (no broker, not inline)."""
        return self.broker_url is None and not self.inline

    # ------------------------------------------------------------ sending

    def install(self, factory: sessionmaker[Session]) -> None:
        """Send the jobs a session enqueued once its transaction commits; forget them
        if it rolls back."""

        @event.listens_for(factory, "after_commit")
        def _send(session: Session) -> None:
            ids = session.info.pop(TO_SEND, None)
            if ids:
                self.send(ids)

        @event.listens_for(factory, "after_transaction_end")
        def _forget(session: Session, transaction: SessionTransaction) -> None:
            if transaction.parent is None:
                session.info.pop(TO_SEND, None)

    def send(self, job_ids: list[int]) -> None:
        """Hand the jobs to the workers. A failure to reach the broker is logged, not
        raised: the jobs are committed, and the scheduler sends them again."""
        if self.inline:
            for job_id in job_ids:
                with contextlib.suppress(Retry):  # recorded on the job as failed
                    run_job(job_id, last_attempt=True)
            return
        sent = self.start_in_process() if self.in_process else set()
        try:
            for job_id in job_ids:
                if job_id not in sent:
                    self.actor.send(job_id)
        except Exception:
            log.exception("jobs %s not sent; the scheduler sends them again", job_ids)
        finally:
            self._release_connection()

    def _release_connection(self) -> None:
        # Dramatiq's RabbitMQ broker keeps a connection per thread. A server that
        # makes a thread per request (flask run) would leave one behind per request.
        if (
            isinstance(self.broker, RabbitmqBroker)
            and has_request_context()
            and threading.current_thread() is not threading.main_thread()
        ):
            del self.broker.connection

    # ------------------------------------------------------------ running

    def _perform(self, job_id: int) -> None:
        message = CurrentMessage.get_current_message()
        retries = int(message.options.get("retries", 0)) if message is not None else 0
        with self.app.app_context():
            run_job(job_id, last_attempt=retries >= self.max_retries)

    def start_worker(self, threads: int | None = None, *, schedule: bool) -> None:
        """Start worker threads consuming the queue, and the scheduler if asked."""
        self._worker = dramatiq.Worker(self.broker, worker_threads=threads or self.threads)
        self._worker.start()
        if schedule:
            self._start_scheduler()

    def _start_scheduler(self) -> None:
        from ledger.jobs.scheduler import Scheduler

        self._scheduler = Scheduler(self.app)
        self._scheduler.start()

    def start_in_process(self) -> set[int]:
        """No broker: start this process's worker threads and scheduler, once, and
        send again the jobs left unfinished by a process that stopped (returned:
        the ids sent)."""
        from ledger.db import db
        from ledger.jobs.models import Job

        with self._start_lock:
            if self._worker is not None or not self.in_process:
                return set()
            # Read first: a database not reachable yet starts nothing, and the next
            # call tries again.
            with self.app.app_context(), db.transaction() as session:
                left = list(
                    session.scalars(
                        select(Job.id).where(Job.state.in_(("queued", "running"))).order_by(Job.id)
                    )
                )
            self.start_worker(schedule=False)
            for job_id in left:
                self.actor.send(job_id)
            if self.app.config["JOBS_SCHEDULE"]:
                self._start_scheduler()
        return set(left)

    def stop(self, timeout_seconds: float = 30) -> None:
        """Stop the scheduler and the worker threads, letting running jobs finish."""
        if self._scheduler is not None:
            self._scheduler.stop()
            self._scheduler = None
        if self._worker is not None:
            self._worker.stop(timeout=int(timeout_seconds * 1000))
            self._worker = None
        self.broker.close()
