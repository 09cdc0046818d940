"""``flask --app wsgi documents verify``: every stored file against the record."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from ledger.db import db, sqlite_begin

documents_cli = AppGroup("documents", help="Documents attached to the record.")


@documents_cli.command("verify")
def documents_verify() -> None:
    """Check every document: its file is in the store, its bytes hash to the
    recorded sha256, and its row agrees with its document.attached audit event.
    Print a summary; exit 1 and name each document that fails."""
    from ledger.documents.services import verify
    from ledger.documents.store import store_for

    store = store_for(current_app)
    sqlite_begin.set("BEGIN")  # a read: no write lock
    with db.transaction() as session:
        result = verify(session, store)
    for problem in result.problems:
        click.echo(f"FAILED {problem}", err=True)
    click.echo(
        f"{result.checked} document(s) checked in {store.describe()}: "
        + ("all agree with the record" if result.ok else f"{len(result.problems)} problem(s)")
    )
    if not result.ok:
        sys.exit(1)
