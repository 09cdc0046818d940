"""``flask --app wsgi batches submit|post|show``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.auth.models import User
from ledger.db import db, sqlite_begin
from ledger.errors import LedgerError

batches_cli = AppGroup("batches", help="Cash-assistance batches.")


def _user(session: Session, name: str) -> User:
    user = session.scalars(select(User).where(User.name == name)).first()
    if user is None:
        raise click.UsageError(f"no user named {name!r}")
    return user


def _show(batch_id: int) -> dict[str, object]:
    from ledger.batches.models import Batch
    from ledger.batches.services import progress, request_status

    sqlite_begin.set("BEGIN")
    with db.transaction() as session:
        batch = session.get(Batch, batch_id)
        if batch is None:
            raise click.UsageError(f"no batch {batch_id}")
        return {
            "id": batch.id,
            "name": batch.name,
            "status": batch.status,
            "spending_request_id": batch.spending_request_id,
            "request_status": request_status(session, batch),
            **progress(session, batch),
        }


@batches_cli.command("submit")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--user", "user_name", required=True, help="The clerk who submits it.")
@click.option("--fund-id", type=int, required=True)
@click.option("--project-id", type=int, required=True)
@click.option("--payee-id", type=int, required=True, help="The payee standing for the programme.")
@click.option("--name", required=True, help="The batch's name.")
@click.option("--purpose", required=True)
@click.option("--currency", default="USD", show_default=True)
@click.option("--country", default="PS", show_default=True, help="Of newly registered payees.")
def batches_submit(
    file: Path,
    user_name: str,
    fund_id: int,
    project_id: int,
    payee_id: int,
    name: str,
    purpose: str,
    currency: str,
    country: str,
) -> None:
    """Validate, match, screen and submit FILE (CSV or JSON) for the committee's vote."""
    from ledger.batches.services import submit_batch

    try:
        with db.transaction() as session:
            batch = submit_batch(
                session,
                _user(session, user_name),
                current_app.extensions["ledger.quorum_policy"],
                fund_id=fund_id,
                project_id=project_id,
                payee_id=payee_id,
                name=name,
                purpose=purpose,
                currency=currency,
                country=country,
                data=file.read_bytes(),
                expiry_days=current_app.config["REQUEST_EXPIRY_DAYS"],
            )
            batch_id = batch.id
    except LedgerError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(json.dumps(_show(batch_id), indent=2))


@batches_cli.command("post")
@click.argument("batch_id", type=int)
@click.option("--user", "user_name", required=True, help="The treasurer who pays it.")
@click.option("--paid-on", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--chunk-size", type=click.IntRange(1, 50_000), default=1000, show_default=True)
def batches_post(
    batch_id: int, user_name: str, paid_on: dt.datetime | None, chunk_size: int
) -> None:
    """Pay an approved batch, chunk by chunk, with a progress bar. Run it again to
    resume a run that stopped (crash, kill): rows already paid are skipped."""
    from ledger.batches.runner import run_posting
    from ledger.batches.services import ChunkResult, start_posting, state_counts

    try:
        with db.transaction() as session:
            actor = _user(session, user_name)
            start_posting(
                session, actor, batch_id=batch_id, paid_on=paid_on.date() if paid_on else None
            )
            actor_id = actor.id
            counts = state_counts(session, batch_id)
        with click.progressbar(
            length=counts["ready"], label=f"batch {batch_id}", show_pos=True
        ) as bar:

            def advance(result: ChunkResult) -> None:
                bar.update(result.paid + result.held)

            run_posting(batch_id, actor_id, chunk_size=chunk_size, on_chunk=advance)
    except LedgerError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(json.dumps(_show(batch_id), indent=2))


@batches_cli.command("show")
@click.argument("batch_id", type=int)
def batches_show(batch_id: int) -> None:
    """A batch's state and progress, as JSON."""
    click.echo(json.dumps(_show(batch_id), indent=2))
