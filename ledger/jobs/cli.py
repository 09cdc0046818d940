"""``flask --app wsgi worker``: run jobs from the broker, and the schedule."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from types import FrameType

import click
from flask import Flask, current_app

log = logging.getLogger(__name__)


@click.command("worker")
@click.option(
    "--processes",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Worker processes (forked from this one).",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 64),
    default=None,
    help="Threads per process, each running one job at a time [default: JOBS_THREADS].",
)
@click.option(
    "--schedule/--no-schedule",
    default=None,
    help="Enqueue the scheduled jobs (expiry, checkpoints) [default: JOBS_SCHEDULE].",
)
def worker_command(processes: int, threads: int | None, schedule: bool | None) -> None:
    """Run jobs from JOBS_BROKER_URL until stopped (SIGTERM or Ctrl-C). Run any number
    of these, on any number of machines: each job runs once at a time, a job left
    by a worker that died is taken up by another, and a scheduled job is
    enqueued once per period whoever schedules it."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("JOBS_BROKER_URL"):
        raise click.UsageError(
            "JOBS_BROKER_URL is not set (LEDGER_JOBS_BROKER_URL=amqp://… or redis://…). "
            "Without a broker, `flask --app wsgi run` runs the jobs in its own process."
        )
    threads = threads or int(app.config["JOBS_THREADS"])
    schedule = bool(app.config["JOBS_SCHEDULE"]) if schedule is None else schedule
    if processes == 1:
        _serve(app, threads, schedule)
        return
    context = multiprocessing.get_context("fork")
    # Connections made before the fork belong to this process, not to the children.
    app.extensions["ledger.db"].engine.dispose()
    children = [
        context.Process(target=_serve, args=(app, threads, schedule), name=f"worker-{n}")
        for n in range(processes)
    ]
    for child in children:
        child.start()

    def forward(signum: int, _frame: FrameType | None) -> None:
        for child in children:
            if child.pid is not None and child.is_alive():
                os.kill(child.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for child in children:
        child.join()


def _serve(app: Flask, threads: int, schedule: bool) -> None:
    """One worker process: its threads and maybe the scheduler, until a signal."""
    app.extensions["ledger.db"].engine.dispose(close=False)
    queue = app.extensions["ledger.jobs"]
    stopping = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    queue.start_worker(threads, schedule=schedule)
    click.echo(
        f"worker {os.getpid()}: {threads} thread(s) on queue {app.config['JOBS_QUEUE']}"
        + (", with the scheduler" if schedule else ""),
        err=True,
    )
    while not stopping.wait(1.0):
        pass
    click.echo(f"worker {os.getpid()}: stopping after the running jobs", err=True)
    queue.stop()
