"""The schedule: jobs enqueued every period, by whichever workers run a scheduler.

Every worker process (``flask --app wsgi worker``, and the in-process worker of
``make run``) runs one. Each tick it enqueues the jobs of the current period with
a dedupe key naming the period, so that the job exists once however many
schedulers run, it sends again the jobs whose message was lost
(``resend_stale``), and it asks for the next attempt of each notification whose
delivery failed and whose backoff is over (``notifications.services.retry_due``).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

from flask import Flask

from ledger.db import db, utcnow
from ledger.jobs.models import Job
from ledger.jobs.services import enqueue, resend_stale
from ledger.notifications.services import retry_due

log = logging.getLogger(__name__)

# kind → the setting that holds its period in seconds (0: not scheduled).
SCHEDULE = {
    "requests.expire": "JOBS_EXPIRE_REQUESTS_EVERY",
    "checkpoint.sign": "JOBS_SIGN_CHECKPOINT_EVERY",
}


def period_start(moment: dt.datetime, every_seconds: int) -> dt.datetime:
    """The start of the period of ``every_seconds`` that holds ``moment`` (periods
    are counted from the Unix epoch, so every scheduler agrees on them)."""
    epoch = int(moment.timestamp())
    return dt.datetime.fromtimestamp(epoch - epoch % every_seconds, dt.UTC)


def schedule_due(session: Any, config: Any, now: dt.datetime | None = None) -> list[Job]:
    """Enqueue each scheduled kind's job for the current period, unless it exists."""
    now = now or utcnow()
    jobs = []
    for kind, setting in SCHEDULE.items():
        every = int(config.get(setting) or 0)
        if every <= 0:
            continue
        start = period_start(now, every).isoformat()
        jobs.append(enqueue(session, kind, {"period": start}, dedupe_key=f"{kind}:{start}"))
    return jobs


class Scheduler(threading.Thread):
    """A daemon thread: ``schedule_due``, ``resend_stale`` and ``retry_due`` every tick."""

    def __init__(self, app: Flask) -> None:
        super().__init__(name="ledger-jobs-scheduler", daemon=True)
        self.app = app
        self.tick = float(app.config["JOBS_SCHEDULER_TICK_SECONDS"])
        self.resend_after = dt.timedelta(seconds=float(app.config["JOBS_RESEND_AFTER_SECONDS"]))
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                with self.app.app_context(), db.transaction() as session:
                    schedule_due(session, self.app.config)
                    resend_stale(session, self.resend_after)
                    retry_due(session)
            except Exception:  # a database away for a moment: try again next tick
                log.exception("the job scheduler's tick failed")
            self._stopping.wait(self.tick)

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=10)
